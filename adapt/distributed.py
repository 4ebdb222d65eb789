"""Data-parallel training over torchrun processes: one global batch, split by rows across ranks.

The scheme (used by :func:`adapt.train.train_adapt` and :func:`adapt.plus.train.train_plus`):

- Every rank loads the whole dataset and draws the SAME global batch plan from (seed, epoch), so
  the global batches (which structures, in which order) are those of one process. Each rank
  builds the padded global batch, applies the shared random augmentation to it, and keeps rows
  ``rank, rank + W, ...`` (:meth:`Dist.rows`); a rank may get no rows (a 1-structure batch on 2
  ranks) and then contributes a zero gradient.
- Each rank's loss is its rows' share of the global batch's loss: means are divided by the
  GLOBAL batch's totals (Σ weights, number of structures), so the rank losses sum to the
  one-process loss and the summed gradients are the one-process gradient. The gradients are
  summed over ranks with one flat all-reduce per step (:meth:`Dist.sum_grads`), not averaged.
- After that every rank clips and steps the same optimizer on the same gradient, so the weights
  stay equal on all ranks (they are broadcast from rank 0 once, after init or resume).
- Only rank 0 writes checkpoints, metrics and the resume state, and shows progress; validation
  batches are split across ranks and their sums all-reduced (:meth:`Dist.sum`).

Why not ``torch.nn.parallel.DistributedDataParallel``: DDP does cope with ADAPT+ conservative
forces (``torch.autograd.grad(create_graph=True)`` inside the forward): on 2 gloo ranks, float64,
DDP with and without ``static_graph`` gave the one-process gradient to 1.6e-15 relative
(scripts/probe_ddp_conservative.py; it warns "grad strides do not match bucket view strides").
But DDP averages gradients and needs every rank to run forward and backward on every step,
while here a rank's shard may be empty (a 1-structure batch on 2 ranks) and the loss is already
normalised by global totals; one explicit all-reduce after ``backward`` handles both exactly, at
the cost of not overlapping communication with the backward pass.

Randomness: shared draws (batch plan, augmentation) use the same seeds on every rank; anything
drawn inside the forward pass (dropout) runs under a per-rank seed (:meth:`Dist.local_rng`).
With dropout 0 (the tiny presets) a W-rank run reproduces the one-process run to float rounding.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; :func:`from_env` reads
them (backend nccl for CUDA, gloo for CPU). Without WORLD_SIZE (or WORLD_SIZE=1) it returns
:data:`LOCAL`, whose methods do nothing, so the one-process code path is unchanged.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank in [0, world), local_rank = GPU index on its node."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: str) -> str:
        """The torch device of this rank: ``cuda`` becomes ``cuda:LOCAL_RANK`` under torchrun."""
        if not self.active or not device.startswith("cuda"):
            return device
        if device != "cuda":
            raise ValueError(
                f"--device {device} with {self.world} processes: use --device cuda; each "
                "process takes the GPU numbered by its LOCAL_RANK"
            )
        return f"cuda:{self.local_rank}"

    def rows(self, n: int) -> list[int]:
        """This rank's rows of an n-row global batch (possibly none)."""
        return list(range(self.rank, n, self.world))

    def _comm_device(self) -> torch.device:
        return torch.device(f"cuda:{self.local_rank}" if self.backend == "nccl" else "cpu")

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of ``values`` over ranks (float64)."""
        if not self.active:
            return list(values)
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(t)
        return t.tolist()

    def sum_grads(self, params) -> None:
        """Replace each parameter's .grad by its sum over ranks (one all-reduce per dtype).

        A parameter whose .grad is None on every rank keeps None (as in one process, where the
        optimizer skips it); a rank without rows contributes zeros."""
        if not self.active:
            return
        import torch.distributed as dist

        params = [p for p in params if p.requires_grad]
        by_dtype: dict[torch.dtype, list] = {}
        for p in params:
            by_dtype.setdefault(p.dtype, []).append(p)
        for group in by_dtype.values():
            flat = torch.cat(
                [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in group]
                + [
                    torch.tensor([p.grad is not None for p in group], dtype=group[0].dtype).to(
                        group[0].device
                    )
                ]
            )
            dist.all_reduce(flat)
            has = flat[-len(group) :].tolist()
            at = 0
            for p, h in zip(group, has, strict=True):
                n = p.numel()
                p.grad = flat[at : at + n].view_as(p).clone() if h > 0 else None
                at += n

    def broadcast_(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and buffers into every rank's ``module`` (in place)."""
        if not self.active:
            return
        import torch.distributed as dist

        with torch.no_grad():
            for t in [*module.parameters(), *module.buffers()]:
                dist.broadcast(t.data, src=0)

    def agree(self, value: int, what: str) -> None:
        """ValueError on every rank unless all ranks hold the same integer ``value``."""
        if not self.active:
            return
        import torch.distributed as dist

        lo = torch.tensor([value], dtype=torch.int64, device=self._comm_device())
        hi = lo.clone()
        dist.all_reduce(lo, op=dist.ReduceOp.MIN)
        dist.all_reduce(hi, op=dist.ReduceOp.MAX)
        if int(lo) != int(hi):
            raise ValueError(
                f"ranks disagree on {what} (rank {self.rank} has {value}, the range is "
                f"{int(lo)}..{int(hi)})"
            )

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def local_rng(self, *seed: int):
        """Context: the torch RNG seeded per rank from ``seed`` (for dropout), restored after;
        a no-op in one process."""
        if not self.active:
            return contextlib.nullcontext()
        return _forked(self, seed)


@contextlib.contextmanager
def _forked(d: Dist, seed: tuple[int, ...]):
    devices = [d.local_rank] if d.backend == "nccl" else []
    with torch.random.fork_rng(devices=devices):
        s = 0
        for x in (*seed, d.rank):
            s = (s * 1_000_003 + int(x)) % (2**63 - 1)
        torch.manual_seed(s)
        yield


LOCAL = Dist()


def from_env(device: str = "cpu") -> Dist:
    """The job this process belongs to, from torchrun's environment; initialises the default
    process group (nccl when ``device`` is CUDA, else gloo). :data:`LOCAL` outside torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return LOCAL
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = str(device).startswith("cuda")
    backend = "nccl" if cuda else "gloo"
    if cuda:
        if local >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK {local} needs GPU {local}, but torch sees "
                f"{torch.cuda.device_count()} GPU(s) on this node: start at most that many "
                "processes per node (--nproc / --nproc_per_node)"
            )
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        gpu = {"device_id": torch.device(f"cuda:{local}")} if cuda else {}
        dist.init_process_group(backend, **gpu)
    return Dist(rank=rank, world=world, local_rank=local, backend=backend)


def shutdown() -> None:
    """Destroy the default process group if one is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
