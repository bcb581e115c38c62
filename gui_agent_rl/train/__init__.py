"""The thin layer over TRL's GRPOTrainer (needs the [train] extra)."""
