"""Mechano-electrochemical phase-field model of Li dendrite growth."""
