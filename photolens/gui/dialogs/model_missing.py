"""The model-setup dialog: which model is missing, its size, and the ways to provide it (download where a
network exists, or a local folder / checkpoint). Browsing, dates and folders work without a model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from photolens.embedding.spec import ModelSpec, parse_model_spec, weights_status
from photolens.gui.dialogs import ask
from photolens.gui.model_setup import can_download, describe_size, download_weights


def validate_choice(spec_text: str) -> str | None:
    """None when ``spec_text`` names weights that are here, else why not."""
    from photolens.errors import PhotolensError

    try:
        spec = parse_model_spec(spec_text)
        if spec.kind == "tag":
            return None  # checked when loaded
        status = weights_status(spec)
    except PhotolensError as exc:
        return str(exc)
    return None if status.available else f"{status.detail}: {status.location}"


class ModelMissingDialog(QDialog):
    """``chosen_spec`` is set when the user provided weights (download finished or a local choice).
    The download runs on the app's task runner (``io`` pool) and stops when cancelled."""

    model_chosen = Signal(str)

    def __init__(self, spec: ModelSpec, message: str, runner: Any, parent: QWidget | None = None,
                 downloader: Any = download_weights, ready: bool = False):
        super().__init__(parent)
        self.setWindowTitle("Search model" if ready else "Model needed for search")
        self.setObjectName("modelDialog")
        self.spec = spec
        self.runner = runner
        self.downloader = downloader
        self.chosen_spec: str | None = None
        self.downloading = False

        title = "The search model is ready" if ready else "The search model is not installed"
        heading = QLabel(f"<h3>{title}</h3><p>Model: <b>{spec.text}</b> ({describe_size(spec)})</p>")
        heading.setTextFormat(Qt.TextFormat.RichText)
        heading.setWordWrap(True)
        self.message = QLabel(message)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setObjectName("modelMessage")
        still = QLabel("Without it you can still browse folders and dates; indexing reads dates and cameras, "
                       "and photos become searchable once the model is here.")
        still.setWordWrap(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("modelStatus")
        self.progress = QProgressBar()
        self.progress.setVisible(False)

        self.download_button = QPushButton(f"Download ({describe_size(spec)})")
        self.download_button.setVisible(can_download(spec) and not ready)
        self.download_button.clicked.connect(self.start_download)
        self.folder_button = QPushButton("Use a model folder…")
        self.folder_button.setToolTip("A folder with open_clip_config.json and the weights (.safetensors/.bin)")
        self.folder_button.clicked.connect(self.choose_folder)
        self.arch = QLineEdit(spec.arch or "ViT-B-32-256")
        self.arch.setToolTip("open_clip architecture of the checkpoint file")
        self.arch.setMaximumWidth(160)
        self.file_button = QPushButton("Use a checkpoint file…")
        self.file_button.clicked.connect(self.choose_checkpoint)
        self.skip_button = QPushButton("Close" if ready else "Continue without a model")
        self.skip_button.clicked.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(self.download_button)
        row.addWidget(self.folder_button)
        row.addStretch(1)
        checkpoint = QHBoxLayout()
        checkpoint.addWidget(QLabel("Or a checkpoint file of the architecture" if not ready else
                                    "Or use another model: a checkpoint file of the architecture"))
        checkpoint.addWidget(self.arch)
        checkpoint.addWidget(self.file_button)
        checkpoint.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.message)
        layout.addWidget(still)
        layout.addLayout(row)
        layout.addLayout(checkpoint)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.skip_button)
        layout.addLayout(bottom)
        self.resize(760, 360)

    # ---- local weights
    def choose_folder(self) -> None:
        folder = ask.pick_folder(self, "Choose an open_clip model folder")
        if folder:
            self.use_spec(f"local-dir:{folder}")

    def choose_checkpoint(self) -> None:
        path = ask.pick_file(self, "Choose a checkpoint", ask.CHECKPOINT_FILTER)
        if path:
            self.use_spec(f"{self.arch.text().strip() or 'ViT-B-32-256'}:{path}")

    def use_spec(self, spec_text: str) -> bool:
        problem = validate_choice(spec_text)
        if problem:
            self.status.setText(f"Cannot use that: {problem}")
            return False
        self.chosen_spec = spec_text
        self.model_chosen.emit(spec_text)
        self.accept()
        return True

    # ---- download
    def start_download(self) -> None:
        self.download_button.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Connecting to Hugging Face…")
        self.skip_button.setText("Cancel download")
        self.downloading = True
        spec, downloader = self.spec, self.downloader

        def download(context: Any) -> str:
            return str(downloader(spec, lambda done, total: context.progress((done, total)), context.cancel_event))

        self.runner.run("download", "io", download, self._on_done, self._on_failed,
                        lambda value: self._on_progress(*value), with_context=True)

    def cancel_download(self) -> None:
        if self.downloading:
            self.runner.cancel("download")
            self.downloading = False
            self.progress.setVisible(False)
            self.download_button.setEnabled(True)
            self.skip_button.setText("Continue without a model")
            self.status.setText("Download cancelled; the part already downloaded is kept for next time.")

    def _on_progress(self, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
            self.status.setText(f"Downloading… {done / 1e6:,.0f} / {total / 1e6:,.0f} MB")

    def _on_done(self, path: str) -> None:
        self.downloading = False
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(f"Downloaded to {path}")
        self.chosen_spec = self.spec.text
        self.model_chosen.emit(self.spec.text)
        self.accept()

    def _on_failed(self, error: BaseException) -> None:
        self.downloading = False
        self.progress.setVisible(False)
        self.download_button.setEnabled(True)
        self.skip_button.setText("Continue without a model")
        self.status.setText(f"Download failed: {error}")

    def reject(self) -> None:
        if self.downloading:  # the first press cancels the download, the second closes
            self.cancel_download()
            return
        super().reject()
