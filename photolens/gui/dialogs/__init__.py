"""Dialogs and pages: welcome, model setup, settings, export, lens editor, failures."""
