"""Privacy measurement: annotated image sets, face and plate attacks, and why a leak happened."""
