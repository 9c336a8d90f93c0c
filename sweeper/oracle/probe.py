"""Linear probe: multinomial logistic regression on standardized frozen features (torch)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sweeper.runtime import threads_for

__all__ = ["LinearProbe"]


class LinearProbe:
    """Multinomial logistic regression fit by full-batch L-BFGS on standardized features.

    Features are standardized with the mean and standard deviation of the rows it is fit on;
    the objective is

        L(W, b) = (1/N) sum_i CE(W x_i + b, y_i) + (weight_decay / 2) ||W||_F^2

    (bias not decayed), i.e. sklearn's ``LogisticRegression(C=1 / (weight_decay * N))``. The
    problem is convex, so full-batch L-BFGS with a strong-Wolfe line search reaches the same
    optimum as sklearn's solver, only faster (one BLAS matmul per evaluation, float32).

    Args:
        weight_decay: L2 strength on W (>= 0).
        max_iter: L-BFGS iterations.
        tol: stop when the largest gradient entry is below this.
        device: torch device for the fit (``None``: CUDA when available, else CPU).

    Example:
        >>> probe = LinearProbe(weight_decay=1e-4).fit(x_train, y_train)
        >>> probe.accuracy(x_test, y_test)
    """

    def __init__(self, weight_decay: float, max_iter: int = 200, tol: float = 1e-4,
                 device: str | torch.device | None = None) -> None:
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        self.weight_decay = float(weight_decay)
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.device = torch.device(device if device is not None
                                   else ("cuda" if torch.cuda.is_available() else "cpu"))
        self.classes_: np.ndarray | None = None
        self._mean: torch.Tensor | None = None
        self._std: torch.Tensor | None = None
        self._weight: torch.Tensor | None = None
        self._bias: torch.Tensor | None = None

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, dtype=np.float32), device=self.device)

    def _standardize(self, x: np.ndarray) -> torch.Tensor:
        assert self._mean is not None and self._std is not None
        return (self._tensor(x) - self._mean) / self._std

    def fit(self, x: np.ndarray, y: np.ndarray,
            init: LinearProbe | None = None) -> LinearProbe:
        """Fit on rows ``x`` (N x K) with integer labels ``y`` (N,).

        Args:
            x: features.
            y: labels; the classes are ``np.unique(y)``.
            init: a probe fit on the same rows and classes to warm-start from (a weight-decay
                path is fit fastest from strong to weak decay).
        """
        if x.ndim != 2 or x.shape[0] != y.shape[0]:
            raise ValueError(f"features must be N x K with one label per row, got {x.shape} "
                             f"and {y.shape}")
        self.classes_, targets = np.unique(y, return_inverse=True)
        xt = self._tensor(x)
        self._mean = xt.mean(0)
        # constant columns carry no information; dividing by 1 keeps them at zero
        std = xt.std(0)
        self._std = torch.where(std > 1e-12, std, torch.ones_like(std))
        xs = (xt - self._mean) / self._std
        yt = torch.as_tensor(targets, device=self.device)
        n_classes = len(self.classes_)
        weight = torch.zeros(n_classes, x.shape[1], device=self.device)
        bias = torch.zeros(n_classes, device=self.device)
        if (init is not None and init._weight is not None and init._bias is not None
                and init.classes_ is not None and np.array_equal(init.classes_, self.classes_)):
            weight.copy_(init._weight)
            bias.copy_(init._bias)
        weight.requires_grad_(True)
        bias.requires_grad_(True)
        opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=self.max_iter,
                                tolerance_grad=self.tol, tolerance_change=1e-9,
                                history_size=20, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = F.cross_entropy(xs @ weight.T + bias, yt)
            loss = loss + 0.5 * self.weight_decay * weight.pow(2).sum()
            loss.backward()
            return loss

        with threads_for(xs.numel(), self.device):
            opt.step(closure)
        self._weight, self._bias = weight.detach(), bias.detach()
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class labels of rows ``x``."""
        if self._weight is None or self._bias is None or self.classes_ is None:
            raise ValueError("the probe is not fit yet: call fit(x, y) first")
        with torch.no_grad():
            logits = self._standardize(x) @ self._weight.T + self._bias
        return np.asarray(self.classes_[logits.argmax(1).cpu().numpy()])

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of rows of ``x`` whose predicted label equals ``y``, in [0, 1]."""
        return float(np.mean(self.predict(x) == np.asarray(y)))
