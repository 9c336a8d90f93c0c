"""DeepClusterV2 (Caron et al., NeurIPS 2020, the SwAV paper's appendix), as solo-learn trains it.

Each large crop's normalized projection is scored against ``len(num_prototypes)`` frozen
prototype sets; every epoch starts with spherical k-means (:mod:`.kmeans`) over a memory
bank of last epoch's projections, which replaces the prototypes by the centroids and gives
each dataset sample a cluster per set. ``L = mean_h CE(p_h / T, assignment_h)`` over both
crops, samples without an assignment ignored. The bank (crop x rows of one epoch) is
indexed by dataset sample ids, which the training module hands over with each batch.

The bank is part of the state dict (``memory_ids``: R sample ids, ``memory``: crops x R x D,
R the rows of all processes, rank-major), and so is ``kmeans_seed`` (epoch ``e``'s initial
centroids draw from a generator seeded ``kmeans_seed + e``, see :mod:`.kmeans`): a run
resumed from ``last.ckpt`` clusters at its next epoch's start as an uninterrupted run does.
The bank is not a buffer: DDP and the monitor broadcast buffers from rank 0, and each
process keeps its own rows. Under DDP, ``state_dict()`` gathers the processes' rows (a
collective: every rank calls it, as Lightning's checkpointing does) and loading gives each
rank its slice. A checkpoint without the bank (written before it was saved) loads; its next
epoch trains unclustered, with a warning.

Epoch 0 has no assignments: solo-learn's loss is then NaN with zero gradients; here it is
0 with the same (zero) gradients, so the run does not read as diverged.
Projector ``Linear-BN-ReLU-Linear``; prototypes are bias-free linear layers, not trained.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from lightly.models.utils import concat_all_gather
from torch import nn

from sweeper.metrics.distributed import rank_and_world
from sweeper.ssl.methods.base import SSLMethod, full_precision, two_views
from sweeper.ssl.methods.checks import positive
from sweeper.ssl.methods.heads import mlp
from sweeper.ssl.methods.kmeans import cluster_memory

__all__ = ["DeepClusterV2", "deepclusterv2_loss"]


def deepclusterv2_loss(preds: Sequence[torch.Tensor], assignments: torch.Tensor,
                       temperature: float) -> torch.Tensor:
    """``preds``: per prototype set, V x N x C_h scores; ``assignments``: P x N cluster ids
    (-1: none). The mean over prototype sets of the cross-entropy over all V x N rows."""
    total = preds[0].new_zeros(())
    for p, a in zip(preds, assignments, strict=True):
        total = total + F.cross_entropy(p.reshape(-1, p.shape[-1]) / temperature,
                                        a.repeat(p.shape[0]).to(p.device), ignore_index=-1)
    return total / len(preds)


class DeepClusterV2(SSLMethod):
    name = "deepclusterv2"
    uses_sample_ids = True

    def __init__(self, backbone: nn.Module, feat_dim: int, proj_hidden_dim: int,
                 proj_output_dim: int, num_prototypes: Sequence[int], temperature: float,
                 kmeans_iters: int) -> None:
        positive("temperature", temperature)
        super().__init__(backbone, feat_dim)
        if not num_prototypes or min(int(k) for k in num_prototypes) < 1:
            raise ValueError("method_kwargs.num_prototypes must be a non-empty list of "
                             f"positive ints, got {list(num_prototypes)}")
        if kmeans_iters < 0:
            raise ValueError(f"method_kwargs.kmeans_iters must be >= 0, got {kmeans_iters}")
        self.projector = mlp(feat_dim, proj_hidden_dim, proj_output_dim)
        self.prototypes = nn.ModuleList(
            nn.Linear(proj_output_dim, int(k), bias=False) for k in num_prototypes)
        with torch.no_grad():
            for proto in self._layers():
                proto.weight.requires_grad_(False)
                proto.weight.copy_(F.normalize(proto.weight, dim=-1))
        self.num_prototypes = [int(k) for k in num_prototypes]
        self.proj_output_dim, self.temperature = proj_output_dim, temperature
        self.kmeans_iters = kmeans_iters
        self.kmeans_seed = int(torch.randint(0, 2**62, ()))  # seeded by the run's seed
        self.assignments: torch.Tensor | None = None
        self.memory_ids = torch.zeros(0, dtype=torch.long)
        self.memory = torch.zeros(2, 0, proj_output_dim)
        self._row = 0

    def _layers(self) -> list[nn.Linear]:
        return [p for p in self.prototypes if isinstance(p, nn.Linear)]

    @torch.no_grad()
    def start_epoch(self, epoch: int, dataset_size: int, memory_size: int) -> None:
        """Epoch 0 (or a resumed epoch whose checkpoint holds no fitting bank): a random
        bank and no assignments. Later: k-means over the bank."""
        device = self._layers()[0].weight.device
        self.memory_ids, self.memory = self.memory_ids.to(device), self.memory.to(device)
        fresh = self.memory.shape[1] != memory_size
        if fresh and epoch > 0:
            warnings.warn(
                f"deepclusterv2: epoch {epoch + 1} trains without clustering: it needs a "
                f"memory bank of {memory_size} rows per process and the checkpoint it "
                f"resumes from holds {self.memory.shape[1]} (one written before the bank "
                "was saved, or by another number of processes or batches)", stacklevel=2)
        if fresh:
            self.memory_ids = torch.zeros(memory_size, dtype=torch.long, device=device)
            self.memory = F.normalize(torch.randn(2, memory_size, self.proj_output_dim,
                                                  device=device), dim=-1)
        self._row = 0
        if epoch == 0 or fresh:
            self.assignments = -torch.ones(len(self.num_prototypes), dataset_size,
                                           dtype=torch.long, device=device)
            return
        assignments, centroids = cluster_memory(
            self.memory_ids, self.memory, dataset_size, self.num_prototypes, self.kmeans_iters,
            torch.Generator().manual_seed(self.kmeans_seed + epoch))
        self.assignments = assignments.to(device)
        for proto, c in zip(self._layers(), centroids, strict=True):
            proto.weight.copy_(c)

    @full_precision
    def objective(self, preds: list[torch.Tensor], assignments: torch.Tensor) -> torch.Tensor:
        if bool((assignments < 0).all()):
            return sum((p * 0).sum() for p in preds)  # type: ignore[return-value]  # nothing assigned yet: zero gradient, as solo-learn's
        return deepclusterv2_loss(preds, assignments, self.temperature)

    def loss(self, views: list[torch.Tensor], epoch: int,
             sample_ids: torch.Tensor | None = None) -> torch.Tensor:
        if sample_ids is None or self.assignments is None:
            raise ValueError("deepclusterv2 needs each batch's dataset sample ids and "
                             "start_epoch() before the first batch (the training module "
                             "hands both over)")
        z = [F.normalize(self.projector(self.backbone(v)), dim=-1)
             for v in two_views(views, self.name)]
        preds = [torch.stack([proto(zi) for zi in z]) for proto in self.prototypes]
        loss = self.objective(preds, self.assignments[:, sample_ids])
        with torch.no_grad():
            rows = slice(self._row, self._row + sample_ids.shape[0])
            self.memory_ids[rows] = sample_ids
            for c, zc in enumerate(z):
                self.memory[c, rows] = zc.detach().to(self.memory.dtype)
            self._row = rows.stop
        return loss

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str,
                            keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        ids, bank = self.memory_ids, self.memory
        if rank_and_world()[1] > 1 and bank.numel():  # every rank's rows, rank-major
            ids = concat_all_gather(ids)
            bank = concat_all_gather(bank.transpose(0, 1).contiguous()).transpose(0, 1)
        destination[prefix + "memory_ids"] = ids.detach().clone()
        destination[prefix + "memory"] = bank.detach().clone()
        destination[prefix + "kmeans_seed"] = torch.tensor(self.kmeans_seed)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str,
                              local_metadata: dict[str, Any], strict: bool,
                              missing_keys: list[str], unexpected_keys: list[str],
                              error_msgs: list[str]) -> None:
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)
        keys = (prefix + "memory_ids", prefix + "memory")
        unexpected_keys[:] = [k for k in unexpected_keys
                              if k not in (*keys, prefix + "kmeans_seed")]
        if prefix + "kmeans_seed" in state_dict:
            self.kmeans_seed = int(state_dict[prefix + "kmeans_seed"])
        if not all(k in state_dict for k in keys):
            return  # an older checkpoint: start_epoch warns and trains one epoch unclustered
        ids, bank = state_dict[keys[0]], state_dict[keys[1]]
        if ids.ndim != 1 or bank.ndim != 3 or bank.shape[1:] != (ids.shape[0],
                                                                  self.proj_output_dim):
            error_msgs.append(f"{keys[1]} of shape {tuple(bank.shape)} with {keys[0]} of "
                              f"shape {tuple(ids.shape)} is no memory bank of "
                              f"{self.proj_output_dim}-d projections")
            return
        rank, world = rank_and_world()
        if ids.shape[0] % world:
            return  # rows of another number of processes: start_epoch warns
        rows = slice(rank * ids.shape[0] // world, (rank + 1) * ids.shape[0] // world)
        self.memory_ids = ids[rows].clone().long()
        self.memory = bank[:, rows].clone().float()
