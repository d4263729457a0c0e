"""Training logs: CSV (always), TensorBoard (when installed), a tqdm progress bar."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kinema.checkpoint import atomic_write


class RunLogger:
    def __init__(self, out_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.path = out_dir / "log.csv"
        self.tb_dir = out_dir / "tb"
        self._fields: list[str] | None = None
        self._tb = None
        self._purge_step: int | None = None  # TensorBoard drops events from this step on (a resume)

    def resume_from(self, step: int) -> None:
        """A run resumed at ``step`` redoes the steps after it: drop their rows from log.csv (a
        crash after a log line but before the next checkpoint left them) and their TensorBoard
        events, so each step is logged once."""
        if not self.enabled:
            return
        self._purge_step = step + 1
        if not self.path.exists():
            return
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows or "step" not in rows[0]:
            return
        col = rows[0].index("step")
        kept = [rows[0]] + [r for r in rows[1:] if len(r) > col and _step(r[col]) <= step]
        if len(kept) == len(rows):
            return

        def write(tmp: str) -> None:
            with open(tmp, "w", newline="") as f:
                csv.writer(f).writerows(kept)

        atomic_write(self.path, write)

    def _open_tensorboard(self):
        """The TensorBoard writer, opened with the first row (a run that logs nothing writes nothing)."""
        try:
            from torch.utils.tensorboard import SummaryWriter

            return SummaryWriter(str(self.tb_dir), purge_step=self._purge_step)
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


def _step(text: str) -> float:
    """A log row's step; a damaged cell (a kill mid-line) counts as past every step, so it goes."""
    try:
        return int(text)
    except ValueError:
        return float("inf")
