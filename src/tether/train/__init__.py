"""Student training: LoRA SFT on a mix (TRL/PEFT), validation on real rows only."""
