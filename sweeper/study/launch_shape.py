"""How a sweep's workers are laid out on devices: ranks per trial, trials per GPU, and what a
Slurm job asks for; the combinations that make no sense are refused by name.

- ``devices`` = N > 1: each trial trains on N DDP ranks (:mod:`sweeper.study.ranks`). A local
  worker owns a block of N GPUs (``CUDA_VISIBLE_DEVICES``) and starts its N-1 follower ranks;
  a Slurm worker job asks for N tasks on one node (and N GPUs off the CPU), srun starts them.
- ``launcher.trials_per_gpu`` = T > 1: T one-device trials share each GPU. Locally T workers
  get the same ``CUDA_VISIBLE_DEVICES`` block; on Slurm each job asks for one GPU and runs T
  worker tasks on it (``sweep.workers`` / T jobs, rounded up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from sweeper.study.ranks import trial_world_size
from sweeper.study.settings import LocalLauncher, SlurmLauncher

__all__ = ["LaunchShape", "launch_shape"]


@dataclass(frozen=True)
class LaunchShape:
    """Processes per trial and per worker job.

    Attributes:
        world: ranks of one trial (``devices``).
        trials_per_gpu: workers that share one GPU (``launcher.trials_per_gpu``).
        tasks_per_job: Slurm tasks of one worker job: ``world`` ranks, or ``trials_per_gpu``
            workers.
        gpus_per_job: GPUs one Slurm job asks for (0 on the CPU).
    """

    world: int
    trials_per_gpu: int
    tasks_per_job: int
    gpus_per_job: int


def launch_shape(train_cfg: DictConfig, launcher: LocalLauncher | SlurmLauncher) -> LaunchShape:
    """The layout of ``train_cfg``'s trials under ``launcher``, checked.

    Raises:
        ValueError: naming the keys of a combination that cannot run.
    """
    devices: Any = train_cfg.get("devices", 1)
    if OmegaConf.is_config(devices):
        devices = OmegaConf.to_container(devices)
    world = trial_world_size(devices)
    per_gpu = launcher.trials_per_gpu
    cpu = str(train_cfg.get("accelerator")) == "cpu"
    if per_gpu > 1 and world > 1:
        raise ValueError(f"launcher.trials_per_gpu={per_gpu} with devices={devices!r}: trials "
                         "share a GPU only when each trains on one device; set "
                         "launcher.trials_per_gpu=1 or devices=1")
    if per_gpu > 1 and cpu:
        raise ValueError(f"launcher.trials_per_gpu={per_gpu} with accelerator=cpu: there is no "
                         "GPU to share; run more workers (sweep.workers) instead")
    if not isinstance(launcher, SlurmLauncher):
        return LaunchShape(world, per_gpu, 1, 0)
    gpus = launcher.gpus_per_node
    if world > 1:
        if cpu and gpus > 0:
            raise ValueError(f"launcher.gpus_per_node={gpus} with accelerator=cpu: a CPU trial's "
                             "job asks for no GPU; set launcher.gpus_per_node=0")
        if not cpu and gpus not in (0, world):
            raise ValueError(f"launcher.gpus_per_node={gpus} with devices={devices!r}: a "
                             f"{world}-device trial's job asks for one GPU per rank; set "
                             f"launcher.gpus_per_node={world}")
        return LaunchShape(world, 1, world, 0 if cpu else world)
    if per_gpu > 1 and gpus != 1:
        raise ValueError(f"launcher.trials_per_gpu={per_gpu} with launcher.gpus_per_node={gpus}: "
                         f"each job runs {per_gpu} worker tasks on one GPU; set "
                         "launcher.gpus_per_node=1")
    return LaunchShape(1, per_gpu, per_gpu, gpus)
