"""`python -m emulator`: serve the Bot API emulator and print its URL."""

from .runner import main

main()
