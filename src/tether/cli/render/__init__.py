"""Terminal rendering of tether's results (rich tables, trees and progress bars), one module per concept, so the
command modules stay thin. All print to `console.console`."""
