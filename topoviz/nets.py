"""Segmentation networks: a small U-Net and the paper's six-layer net.

Both take ``(N, C, H, W)`` images of any size and return ``(N, 1, H, W)`` logits;
``predict_proba`` gives the likelihood ``f = sigmoid(logits)`` in [0, 1]. Every net
keeps its constructor arguments in ``self.config`` (a plain dict), so
``build(net.arch, **net.config)`` makes the same architecture again; that is how
:mod:`topoviz.checkpoints` stores and rebuilds them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["UNet", "SixLayerNet", "ARCHITECTURES", "build", "arch_of", "n_parameters"]


def _pad(x: torch.Tensor, left: int, right: int, top: int, bottom: int) -> torch.Tensor:
    """Reflect-pad (replicate where the image is too small to reflect)."""
    if not (left or right or top or bottom):
        return x
    h, w = x.shape[-2:]
    mode = "reflect" if max(top, bottom) < h and max(left, right) < w else "replicate"
    return F.pad(x, (left, right, top, bottom), mode=mode)


def _pad_to_multiple(x: torch.Tensor, m: int) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Pad H and W up to multiples of ``m``; return the box that crops back.

    Padding goes at the bottom and right only, so the pooling grid always starts
    at pixel (0, 0): a crop whose origin is a multiple of ``m`` is pooled on the
    same grid as the whole image (what tiled prediction relies on).
    """
    h, w = x.shape[-2:]
    return _pad(x, 0, -w % m, 0, -h % m), (0, 0, h, w)


def _crop(x: torch.Tensor, box: tuple[int, int, int, int]) -> torch.Tensor:
    top, left, h, w = box
    return x[..., top : top + h, left : left + w]


class _Segmenter(nn.Module):
    """What every net shares: input checks and ``predict_proba``."""

    arch: str = ""
    config: dict

    @property
    def pooling_grid(self) -> int:
        """Total pooling stride: shifting the input by a multiple of it shifts the output.

        Tiled prediction starts tiles on multiples of it, so each tile is pooled on
        the same grid as the whole image.
        """
        return 1

    def _check(self, x: torch.Tensor) -> None:
        c = self.config["in_channels"]
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(
                f"{type(self).__name__} expects a (N, {c}, H, W) tensor, got shape {tuple(x.shape)}"
            )

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """The likelihood ``f = sigmoid(logits)``, shape ``(N, 1, H, W)``, in [0, 1].

        Gradients flow through it (training uses it); wrap it in ``torch.no_grad()``
        for inference, or use :func:`topoviz.inference.predict`.
        """
        return torch.sigmoid(self(x))


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)
    return nn.BatchNorm2d(channels)


def _double_conv(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        _norm(norm, c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        _norm(norm, c_out),
        nn.ReLU(inplace=True),
    )


class UNet(_Segmenter):
    """A small U-Net (Ronneberger et al., 2015) for one-channel likelihoods.

    Parameters
    ----------
    in_channels : int
        Image channels (1 for gray).
    base : int
        Channels of the first level; each level down doubles them.
    depth : int
        Number of 2 × 2 poolings. The input is reflect-padded to a multiple of
        ``2 ** depth`` and the output cropped back, so any size works.
    norm : {"batch", "group"}
        BatchNorm (default): in evaluation it uses running statistics, so every
        output pixel depends only on its neighbourhood, and a net trained on
        65 × 65 patches predicts the same on a whole image or on its tiles.
        GroupNorm normalises over the whole input, which makes the prediction
        depend on the crop (avoid it when predicting tiled or on new sizes).

    Notes
    -----
    With the defaults (base 16, depth 3) the net has about 0.47 M parameters,
    a 1.9 MB float32 checkpoint.
    """

    arch = "unet"

    def __init__(self, in_channels: int = 1, base: int = 16, depth: int = 3, norm: str = "batch"):
        super().__init__()
        if in_channels < 1 or base < 1 or depth < 1:
            raise ValueError(
                f"in_channels, base and depth must be >= 1, got {in_channels}, {base}, {depth}"
            )
        if depth > 16:  # base · 2**depth channels: beyond 16 no memory holds the net
            raise ValueError(f"depth must be <= 16, got {depth}")
        if norm not in ("group", "batch"):
            raise ValueError(f"norm must be 'batch' or 'group', got {norm!r}")
        self.config = {"in_channels": in_channels, "base": base, "depth": depth, "norm": norm}
        ch = [base * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList(
            [_double_conv(in_channels, ch[0], norm)]
            + [_double_conv(ch[i - 1], ch[i], norm) for i in range(1, depth + 1)]
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(ch[i + 1], ch[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.decode = nn.ModuleList(
            _double_conv(2 * ch[i], ch[i], norm) for i in reversed(range(depth))
        )
        self.head = nn.Conv2d(ch[0], 1, 1)

    @property
    def pooling_grid(self) -> int:
        return 2 ** self.config["depth"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x, box = _pad_to_multiple(x, 2 ** self.config["depth"])
        skips = []
        for i, block in enumerate(self.down):
            x = block(F.max_pool2d(x, 2) if i else x)
            skips.append(x)
        for up, block, skip in zip(self.up, self.decode, reversed(skips[:-1]), strict=True):
            x = block(torch.cat([up(x), skip], 1))
        return _crop(self.head(x), box)


class SixLayerNet(_Segmenter):
    """The paper's network (Sec. 2.3), run fully convolutionally.

    Four convolutions and two fully connected layers; a 2 × 2, stride-2 max
    pooling ends conv 1, conv 2 and conv 4. The fully connected layers are
    convolutions: FC 1 a 5 × 5 convolution on the 1/8-resolution features (its
    receptive field in the image is 68 px, about the paper's 65 × 65 patch) and
    FC 2 a 1 × 1 convolution to one logit.

    Parameters
    ----------
    in_channels : int
        Image channels.
    width : int
        Channels of conv 1 and 2; conv 3 and 4 have twice as many.
    fc : int
        Units of the first fully connected layer.
    dense : bool
        False (default): the strided net, whose 1/8-resolution logits are
        upsampled bilinearly to the input size. True: the same weights run as
        the exact sliding-window classifier, one 68-px patch per pixel (pooling
        with stride 1, later layers dilated, "à trous"), at full resolution and
        about 64 times the compute.

    Notes
    -----
    Receptive field (pixels): conv 1 (5 × 5) 5, pool 6, conv 2 (5 × 5) 14, pool 16,
    conv 3 and conv 4 (3 × 3) 24 and 32, pool 36, FC 1 (5 × 5 at stride 8) 68.
    """

    arch = "sixlayer"

    def __init__(self, in_channels: int = 1, width: int = 32, fc: int = 128, dense: bool = False):
        super().__init__()
        if in_channels < 1 or width < 1 or fc < 1:
            raise ValueError(
                f"in_channels, width and fc must be >= 1, got {in_channels}, {width}, {fc}"
            )
        self.config = {"in_channels": in_channels, "width": width, "fc": fc, "dense": bool(dense)}
        self.conv1 = nn.Conv2d(in_channels, width, 5, padding=2)
        self.conv2 = nn.Conv2d(width, width, 5, padding=2)
        self.conv3 = nn.Conv2d(width, 2 * width, 3, padding=1)
        self.conv4 = nn.Conv2d(2 * width, 2 * width, 3, padding=1)
        self.fc1 = nn.Conv2d(2 * width, fc, 5, padding=2)
        self.fc2 = nn.Conv2d(fc, 1, 1)

    @property
    def pooling_grid(self) -> int:
        return 1 if self.config["dense"] else 8

    def _coarse(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at 1/8 resolution; H and W must be multiples of 8."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = F.max_pool2d(F.relu(self.conv4(x)), 2)
        return self.fc2(F.relu(self.fc1(x)))

    def _dense(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the patch whose pooling windows start at each pixel.

        The same weights as :meth:`_coarse`; ``_dense(x)[..., ::8, ::8]`` equals
        ``_coarse(x)`` when H and W are multiples of 8.
        """

        def conv(layer: nn.Conv2d, x: torch.Tensor, d: int) -> torch.Tensor:
            pad = d * (layer.kernel_size[0] // 2)
            return F.conv2d(x, layer.weight, layer.bias, padding=pad, dilation=d)

        def pool(x: torch.Tensor, d: int) -> torch.Tensor:
            x = F.pad(x, (0, d, 0, d), value=float("-inf"))
            return F.max_pool2d(x, 2, stride=1, dilation=d)

        x = pool(F.relu(conv(self.conv1, x, 1)), 1)
        x = pool(F.relu(conv(self.conv2, x, 2)), 2)
        x = F.relu(conv(self.conv3, x, 4))
        x = pool(F.relu(conv(self.conv4, x, 4)), 4)
        return conv(self.fc2, F.relu(conv(self.fc1, x, 8)), 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        if self.config["dense"]:
            # A patch's pooling windows span 8 px from its start: centre them on the pixel.
            h, w = x.shape[-2:]
            return self._dense(_pad(x, 3, 4, 3, 4))[..., :h, :w]
        x, box = _pad_to_multiple(x, 8)
        logits = F.interpolate(self._coarse(x), size=x.shape[-2:], mode="bilinear")
        return _crop(logits, box)


ARCHITECTURES: dict[str, type[_Segmenter]] = {"unet": UNet, "sixlayer": SixLayerNet}


def build(arch: str, *, seed: int | None = None, **kwargs) -> nn.Module:
    """A fresh net of architecture ``arch`` (a key of ``ARCHITECTURES``) with ``kwargs``.

    Parameters
    ----------
    arch : str
        A key of :data:`ARCHITECTURES`.
    seed : int, optional
        Initialise the weights from a private ``torch.Generator`` seeded with it:
        the same weights as ``torch.manual_seed(seed); build(arch, **kwargs)``, but
        torch's global random state is neither read nor changed, so sessions or
        threads building nets at the same time cannot disturb each other. Without
        it, PyTorch's default initialisation draws from the global generator.
    **kwargs
        The architecture's constructor arguments (``base``, ``depth``, ``width`` …).

    Returns
    -------
    nn.Module
        The net on the CPU, in training mode.
    """
    try:
        cls = ARCHITECTURES[arch]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ValueError(f"unknown architecture {arch!r}; known: {known}") from None
    if seed is None:
        return cls(**kwargs)
    generator = torch.Generator().manual_seed(int(seed))
    with torch.device("meta"):  # thread-local: shapes only, no global random draws
        model = cls(**kwargs)
    model = model.to_empty(device="cpu")
    _initialise(model, generator)
    return model


def _initialise(model: nn.Module, generator: torch.Generator) -> None:
    """Redo each layer's ``reset_parameters`` (torch 2.13) drawing from ``generator``.

    Modules are visited in registration order, which is the order their
    constructors ran (and drew from the global generator) in ``__init__``.
    """
    for module in model.modules():
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
            # _ConvNd.reset_parameters / Linear.reset_parameters, with the generator
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(module.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        elif isinstance(module, (nn.modules.batchnorm._NormBase, nn.GroupNorm)):
            module.reset_parameters()  # ones, zeros and running statistics: no randomness
        elif any(True for _ in module.parameters(recurse=False)) or any(
            True for _ in module.buffers(recurse=False)
        ):
            raise NotImplementedError(
                f"build(seed=...) does not know how to initialise {type(module).__name__}"
            )


def arch_of(model: nn.Module) -> str:
    """The registry name of ``model``'s architecture."""
    for name, cls in ARCHITECTURES.items():
        if type(model) is cls:
            return name
    known = ", ".join(c.__name__ for c in ARCHITECTURES.values())
    inner = next((a for a in ("_orig_mod", "module") if hasattr(model, a)), None)
    hint = (  # torch.compile keeps the net in _orig_mod, (Distributed)DataParallel in module
        f"; save its net, model.{inner}" if inner and type(getattr(model, inner)) in
        ARCHITECTURES.values() else ""
    )  # fmt: skip
    raise ValueError(f"{type(model).__name__} is not a topoviz architecture ({known}){hint}")


def n_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
