"""The PySide6 desktop app: a thin layer over :class:`photolens.library.Library`.

Nothing here implements retrieval: widgets call the ``Library`` (search, similar, index), the Qt-free
:mod:`photolens.browse` and :mod:`photolens.export` modules, and the lens service through
:mod:`photolens.gui.lens_adapter`. Work that can take time runs through one task runner (:mod:`.tasks`); indexing on its own thread
(:mod:`.indexing`); the window's behaviour lives in :mod:`.controllers`.
"""
