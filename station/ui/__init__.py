"""The dock screen (Textual): a view of the station core, never its owner."""
