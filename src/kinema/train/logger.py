"""Training logs: CSV (always), TensorBoard (when installed), a tqdm progress bar."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


class RunLogger:
    def __init__(self, out_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.path = out_dir / "log.csv"
        self.tb_dir = out_dir / "tb"
        self._fields: list[str] | None = None
        self._tb = None

    def _open_tensorboard(self):
        """The TensorBoard writer, opened with the first row (a run that logs nothing writes nothing)."""
        try:
            from torch.utils.tensorboard import SummaryWriter

            return SummaryWriter(str(self.tb_dir))
        except ImportError:  # tensorboard is optional
            return None

    def log(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self._fields is None:
            self._tb = self._open_tensorboard()
            self._fields = list(row)
            if self.path.exists():  # resumed run: keep the header the file already has
                with open(self.path, newline="") as f:
                    header = next(csv.reader(f), None)
                self._fields = header or self._fields
            else:
                with open(self.path, "w", newline="") as f:
                    csv.writer(f).writerow(self._fields)
        with open(self.path, "a", newline="") as f:
            csv.writer(f).writerow([row.get(k, "") for k in self._fields])
        if self._tb is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "step":
                    self._tb.add_scalar(k, v, row["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
