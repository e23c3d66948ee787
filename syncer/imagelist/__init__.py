"""The image list: references, lines and selectors parsed, policy applied, selectors expanded."""
