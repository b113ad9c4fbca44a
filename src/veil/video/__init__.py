"""Media input and output: tell images from videos, decode, encode, remux audio, clean metadata."""
