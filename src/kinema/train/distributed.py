"""torchrun integration: DDP (gloo on CPU, NCCL on GPU) and FSDP for large presets.

Launch with ``torchrun --nproc_per_node N -m kinema train CONFIG --out DIR``. Each rank draws
different batches (see ``StepBatchSampler``); gradients are all-reduced, so replicas stay equal.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from kinema.device import resolve_device  # noqa: F401 - re-exported for the trainer


@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    strategy: str = "none"  # none | ddp | fsdp

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(strategy: str, device: torch.device) -> DistContext:
    """Join the process group when launched by torchrun (WORLD_SIZE set) or when asked to."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if strategy == "none" or (strategy == "auto" and world == 1):
        return DistContext()
    if world == 1 and strategy in ("ddp", "fsdp"):
        return DistContext(strategy="none")  # a single process needs no wrapper
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=dist.get_rank(), world=dist.get_world_size(),
                       local_rank=int(os.environ.get("LOCAL_RANK", "0")),
                       strategy="ddp" if strategy == "auto" else strategy)


def wrap_model(model: nn.Module, ctx: DistContext, device: torch.device, find_unused: bool = True) -> nn.Module:
    """DDP or FSDP as ``ctx`` says; ``find_unused``: a step may leave a trainable parameter without a
    gradient (DDP then walks the graph each step to find them, a cost paid only where needed)."""
    if ctx.strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        return DDP(model, device_ids=ids, find_unused_parameters=find_unused)
    if ctx.strategy == "fsdp":
        return _fully_shard(model)
    return model


def _fully_shard(model: nn.Module) -> nn.Module:
    """FSDP2: shard each block of every ModuleList, then the root (works on CPU/gloo and GPU/NCCL).

    Parameters become DTensors sharded across ranks; the module is changed in place.
    """
    from torch.distributed.fsdp import fully_shard

    for child in model.modules():
        if isinstance(child, nn.ModuleList):
            for block in child:
                if not isinstance(block, (nn.ModuleList, nn.ModuleDict)) and any(
                        p.requires_grad for p in block.parameters()):
                    fully_shard(block)
    fully_shard(model)
    return model


def no_sync(model: nn.Module, sync: bool):
    """A micro-batch's backward context: DDP all-reduces gradients only where ``sync`` (the last of an
    accumulated step); FSDP and single processes always reduce."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    return model.no_sync() if isinstance(model, DDP) and not sync else nullcontext()


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under a DDP wrapper (FSDP2 shards in place: nothing to unwrap)."""
    return getattr(model, "module", model)


def full_state_dict(model: nn.Module, ctx: DistContext) -> dict[str, torch.Tensor]:
    """The unsharded state dict (gathered on every rank for a module FSDP sharded)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict
    from torch.distributed.fsdp import FSDPModule

    if isinstance(model, FSDPModule):
        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True))
    return unwrap(model).state_dict()


def barrier(ctx: DistContext) -> None:
    if ctx.world > 1:
        dist.barrier()


def cleanup(ctx: DistContext) -> None:
    if ctx.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
