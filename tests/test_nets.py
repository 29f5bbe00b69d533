"""Networks: any input size, the paper's six layers, rebuildable from their config."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from topoviz import checkpoints
from topoviz.nets import ARCHITECTURES, SixLayerNet, UNet, arch_of, build, n_parameters

torch.set_num_threads(1)

NETS = [
    ("unet", {}),
    ("unet", {"base": 8, "depth": 2, "norm": "group"}),
    ("sixlayer", {}),
    ("sixlayer", {"dense": True, "width": 8, "fc": 16}),
]


@pytest.mark.parametrize(("arch", "kwargs"), NETS)
@pytest.mark.parametrize("shape", [(37, 53), (65, 65), (5, 3)])
def test_output_size_equals_input_size(arch, kwargs, shape):
    torch.manual_seed(0)
    net = build(arch, **kwargs).eval()
    x = torch.rand(2, 1, *shape)
    with torch.no_grad():
        logits = net(x)
        proba = net.predict_proba(x)
    assert logits.shape == (2, 1, *shape)
    assert torch.isfinite(logits).all()
    assert torch.equal(proba, torch.sigmoid(logits))
    assert proba.min() >= 0 and proba.max() <= 1


@pytest.mark.parametrize(("arch", "kwargs"), NETS)
def test_config_rebuilds_the_same_architecture(arch, kwargs):
    net = build(arch, **kwargs)
    assert net.arch == arch == arch_of(net)
    assert isinstance(net.config, dict)
    twin = build(net.arch, **net.config)
    assert twin.config == net.config
    assert {k: v.shape for k, v in twin.state_dict().items()} == {
        k: v.shape for k, v in net.state_dict().items()
    }


def test_registry_and_unknown_architecture():
    assert ARCHITECTURES == {"unet": UNet, "sixlayer": SixLayerNet}
    with pytest.raises(ValueError, match="unknown architecture 'resnet'; known: unet, sixlayer"):
        build("resnet")
    with pytest.raises(ValueError, match="not a topoviz architecture"):
        arch_of(nn.Conv2d(1, 1, 3))


def test_unet_is_small():
    net = UNet()
    assert n_parameters(net) < 1_500_000
    buf = io.BytesIO()
    checkpoints.save(buf, net, {})
    assert len(buf.getvalue()) <= 5 * 2**20


def test_sixlayer_has_four_convolutions_and_two_fully_connected_layers():
    """Sec. 2.3: six weight layers; max pooling after conv 1, 2 and 4."""
    net = SixLayerNet()
    layers = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(layers) == 6
    assert [m.kernel_size for m in layers[-2:]] == [(5, 5), (1, 1)]  # FC 1, FC 2
    assert net.fc2.out_channels == 1
    assert net.pooling_grid == 8  # three 2 x 2 poolings


def test_sixlayer_dense_is_the_strided_net_at_every_pixel():
    """The dilated ("a trous") net computes every patch; stride 8 keeps every 8th."""
    torch.manual_seed(0)
    net = SixLayerNet(width=8, fc=16)
    x = torch.rand(1, 1, 48, 40)
    with torch.no_grad():
        dense, coarse = net._dense(x), net._coarse(x)
    assert dense.shape[-2:] == x.shape[-2:] and coarse.shape[-2:] == (6, 5)
    torch.testing.assert_close(dense[..., ::8, ::8], coarse, atol=1e-5, rtol=1e-5)


def test_unet_pools_on_the_grid_of_the_whole_image():
    """Padding is added at the end only, so a crop at a multiple of 8 sees the same grid."""
    torch.manual_seed(0)
    net = UNet(base=4).eval()
    x = torch.rand(1, 1, 100, 100)
    with torch.no_grad():
        whole = net(x)[..., 8:, 8:]
        crop = net(x[..., 8:, 8:])
    # the same values far from both images' borders
    torch.testing.assert_close(whole[..., 40:52, 40:52], crop[..., 40:52, 40:52])


@pytest.mark.parametrize(("arch", "kwargs"), NETS[:3])
def test_gradients_reach_every_parameter(arch, kwargs):
    torch.manual_seed(0)
    net = build(arch, **kwargs).train()
    x, y = torch.rand(2, 1, 33, 29), (torch.rand(2, 1, 33, 29) > 0.5).float()
    nn.functional.binary_cross_entropy_with_logits(net(x), y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_bad_input_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match=r"expects a \(N, 1, H, W\) tensor"):
        UNet()(torch.rand(1, 16, 16))
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        SixLayerNet()(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="norm"):
        UNet(norm="layer")
    with pytest.raises(ValueError, match="depth"):
        UNet(depth=0)


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = UNet(base=4)
    torch.manual_seed(3)
    b = UNet(base=4)
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())


SEEDED = [
    *NETS,
    ("unet", {"in_channels": 3, "base": 2, "depth": 1}),
    ("sixlayer", {"in_channels": 2, "width": 4, "fc": 8}),
]


@pytest.mark.parametrize(("arch", "kwargs"), SEEDED)
@pytest.mark.parametrize("seed", [0, 12345])
def test_build_with_a_seed_equals_seeding_the_global_generator(arch, kwargs, seed):
    torch.manual_seed(seed)
    expected = build(arch, **kwargs)
    torch.manual_seed(999)
    global_state = torch.get_rng_state()
    net = build(arch, seed=seed, **kwargs)
    assert torch.equal(torch.get_rng_state(), global_state)  # not read, not changed
    want, got = expected.state_dict(), net.state_dict()
    assert list(got) == list(want)
    for name, value in want.items():
        assert got[name].dtype == value.dtype and torch.equal(got[name], value), name
    assert net.training and all(p.requires_grad for p in net.parameters())
    assert all(p.device.type == "cpu" for p in net.parameters())


def test_every_architecture_is_covered_by_the_seeded_build():
    assert {arch for arch, _ in SEEDED} == set(ARCHITECTURES)
