"""The window's behaviour, split by job: browse/search, lenses, indexing, settings (and the model), photo
actions. Each controller holds state of its own job only and reaches the widgets through the window; all
database and file work goes through the window's :class:`~photolens.gui.tasks.TaskRunner`."""
