"""MAE (He et al., CVPR 2022), as solo-learn trains it, on lightly's MAE parts.

MAE is not a joint-embedding method: a ViT encodes a random ``1 - mask_ratio`` share of the
patch tokens (the class token is always kept), a small ViT decoder fills the rest with a
learned mask token and predicts every patch's pixels, and the loss is the per-patch mean
squared error averaged over the masked patches only. With ``norm_pix_loss`` each target
patch is normalised by its own mean and variance (``+1e-6``). Each view is its own sample;
the loss is the mean over views (solo-learn's large crops).

MAE has no projector: ``projector`` is the identity, so the monitor's "projections" (and
``rankme_projector``) are the backbone's features of unmasked images again, the same
embedding as ``rankme``; solo-learn's evaluation reads those features (the class token).

The masked encoder (lightly's ``MaskedVisionTransformerTIMM``) wraps the backbone module
itself. It is kept off the module tree, so the ViT is registered, and checkpointed, once as
``backbone.*`` (the keys ``score`` and solo-learn's checkpoint reader look for); its own
``mask_token`` is never used (``encode`` only drops tokens). Checkpoints written when the
encoder was registered too hold the ViT again under ``encoder.vit.*`` (and
``encoder.mask_token``): those keys are dropped on load.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from lightly.models import utils
from lightly.models.modules import MAEDecoderTIMM, MaskedVisionTransformerTIMM
from timm.models.vision_transformer import VisionTransformer
from torch import nn

from sweeper.ssl.backbones.vit_mae import MAEViT
from sweeper.ssl.methods.base import SSLMethod, full_precision

__all__ = ["MAE", "mae_loss"]


def mae_loss(images: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor, patch_size: int,
             norm_pix_loss: bool = False) -> torch.Tensor:
    """MAE's reconstruction loss.

    Args:
        images: ``N x C x H x W`` images the encoder saw (before masking).
        pred: ``N x L x (patch_size**2 * C)`` predicted pixels of every patch.
        mask: ``N x L``, 1 where a patch was masked (the only patches the loss reads).
        patch_size: the ViT's patch size.
        norm_pix_loss: normalise each target patch by its own mean and (unbiased) variance.

    >>> imgs = torch.zeros(1, 3, 4, 4)
    >>> float(mae_loss(imgs, torch.ones(1, 4, 12), torch.tensor([[1., 0, 0, 0]]), 2))
    1.0
    """
    target = utils.patchify(images, patch_size)
    if norm_pix_loss:
        target = (target - target.mean(-1, keepdim=True)) / (
            target.var(-1, keepdim=True) + 1e-6).sqrt()
    per_patch = (pred - target).pow(2).mean(-1)
    return (per_patch * mask).sum() / mask.sum()


class MAE(SSLMethod):
    name = "mae"

    def __init__(self, backbone: nn.Module, feat_dim: int, decoder_embed_dim: int,
                 decoder_depth: int, decoder_num_heads: int, mask_ratio: float = 0.75,
                 norm_pix_loss: bool = False) -> None:
        if not isinstance(backbone, VisionTransformer):
            raise ValueError(f"mae needs a ViT backbone (backbone.name=vit_tiny, vit_small, "
                             f"...), got {type(backbone).__name__}")
        if not 0.0 <= float(mask_ratio) < 1.0:
            raise ValueError(f"method_kwargs.mask_ratio must be in [0, 1), got {mask_ratio}")
        super().__init__(backbone, feat_dim)
        self.mask_ratio = float(mask_ratio)
        self.norm_pix_loss = bool(norm_pix_loss)
        self.projector = nn.Identity()
        # solo-learn's MAE ViT (method mae's vit_*) comes initialised, its fixed position code
        # built in float64: lightly must not redraw either; another ViT gets lightly's MAE init
        built = isinstance(backbone, MAEViT)
        # a tuple: nn.Module does not register it (the backbone is registered already), so
        # the encoder's own mask token, which encode() never inserts, is in no optimizer
        self._encoder = (MaskedVisionTransformerTIMM(
            vit=backbone, weight_initialization="skip" if built else "",
            pos_embed_initialization="skip" if built else "sincos"),)
        self.register_load_state_dict_pre_hook(_drop_duplicate_vit)
        patch = backbone.patch_embed.patch_size
        self.patch_size = int(patch[0] if isinstance(patch, tuple) else patch)
        with warnings.catch_warnings():  # lightly 1.6 deprecates it for a decoder without
            # the embed/predict layers; this one matches solo-learn's parameter for parameter
            warnings.simplefilter("ignore", FutureWarning)
            self.decoder = MAEDecoderTIMM(
                num_patches=backbone.patch_embed.num_patches, patch_size=self.patch_size,
                in_chans=backbone.patch_embed.proj.in_channels, embed_dim=feat_dim,
                decoder_embed_dim=decoder_embed_dim, decoder_depth=decoder_depth,
                decoder_num_heads=decoder_num_heads,
                num_prefix_tokens=backbone.num_prefix_tokens, mlp_ratio=4.0)

    @property
    def encoder(self) -> MaskedVisionTransformerTIMM:
        """The masked encoder: the backbone's own modules, reached through lightly's API."""
        return self._encoder[0]

    def reconstruct(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pred, mask)``: predicted pixels of every patch (``N x L x p*p*C``) and the
        random mask (``N x L``, 1 = masked) of one masked forward pass."""
        batch, seq_len = images.shape[0], self.encoder.sequence_length
        idx_keep, idx_mask = utils.random_token_mask((batch, seq_len), self.mask_ratio,
                                                     device=images.device)
        tokens = self.decoder.embed(self.encoder.encode(images, idx_keep=idx_keep))
        full = utils.repeat_token(self.decoder.mask_token, (batch, seq_len))
        full = utils.set_at_index(full, idx_keep, tokens.type_as(full))
        prefix = self.backbone.num_prefix_tokens
        pred = self.decoder.predict(self.decoder.decode(full)[:, prefix:])
        mask = torch.zeros(batch, seq_len, device=images.device).scatter_(1, idx_mask, 1.0)
        return pred, mask[:, prefix:]

    @full_precision
    def objective(self, images: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor
                  ) -> torch.Tensor:
        return mae_loss(images, pred, mask, self.patch_size, self.norm_pix_loss)

    def loss(self, views: list[torch.Tensor], epoch: int) -> torch.Tensor:
        return torch.stack([self.objective(v, *self.reconstruct(v)) for v in views]).mean()


def _drop_duplicate_vit(module: nn.Module, state_dict: dict[str, Any], prefix: str,
                        *args: Any) -> None:
    """Load pre-hook: forget an older checkpoint's second copy of the ViT (``encoder.*``)."""
    for key in [k for k in state_dict if k.startswith(prefix + "encoder.")]:
        del state_dict[key]
