"""Reusable widgets of the main window: search bar, lens bar, sidebar, photo grid, sections, details."""
