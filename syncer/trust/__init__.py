"""What travels with an image and guards it: companions, signature verification, drift."""
