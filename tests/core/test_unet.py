"""The U-Net: output size equals input size for any input, configurable depth/width, gradients reach every layer."""

from __future__ import annotations

import pytest
import torch

from core.models.unet import UNet


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize(("height", "width"), [(37, 53), (16, 16), (1, 7), (65, 31)])
def test_logits_have_the_input_size_for_odd_sizes_and_every_depth(depth, height, width):
    torch.manual_seed(0)
    model = UNet(in_channels=3, num_classes=5, depth=depth, width=4).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, height, width))
    assert out.shape == (2, 5, height, width)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(("in_channels", "num_classes"), [(1, 2), (4, 21), (3, 1)])
def test_any_number_of_input_channels_and_classes(in_channels, num_classes):
    model = UNet(in_channels=in_channels, num_classes=num_classes, depth=2, width=4, bilinear=True).eval()
    with torch.no_grad():
        assert model(torch.randn(1, in_channels, 30, 22)).shape == (1, num_classes, 30, 22)


def test_parameters_grow_with_width_and_depth():
    counts = [_params(UNet(width=w, depth=3)) for w in (4, 8, 16)]
    assert counts[0] < counts[1] < counts[2]
    # Convolutions dominate, so doubling the width roughly quadruples the parameters.
    assert 3.5 < counts[2] / counts[1] < 4.5
    assert _params(UNet(width=8, depth=2)) < _params(UNet(width=8, depth=3))


@pytest.mark.parametrize("pad_mode", ["reflect", "zeros"])
def test_an_odd_input_is_padded_to_the_pooling_multiple_and_cropped_back(pad_mode):
    """The logits of a 21 x 13 input are those of the input padded to 32 x 16 at the bottom/right, cropped."""
    torch.manual_seed(0)
    model = UNet(in_channels=2, num_classes=3, depth=4, width=4, pad_mode=pad_mode).eval()
    assert model.multiple == 16
    x = torch.randn(1, 2, 21, 13)
    torch_mode = "reflect" if pad_mode == "reflect" else "constant"
    padded = torch.nn.functional.pad(x, (0, 3, 0, 11), mode=torch_mode)
    with torch.no_grad():
        assert torch.allclose(model(x), model(padded)[..., :21, :13], atol=1e-6)
        # The padding is what makes the two modes differ.
        other_mode = "zeros" if pad_mode == "reflect" else "reflect"
        other = UNet(in_channels=2, num_classes=3, depth=4, width=4, pad_mode=other_mode)
        other.load_state_dict(model.state_dict())
        assert not torch.allclose(model(x), other.eval()(x))


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = UNet(in_channels=3, num_classes=4, depth=3, width=4, dropout=0.1)
    x = torch.randn(2, 3, 21, 19)
    target = torch.randint(0, 4, (2, 21, 19))
    torch.nn.functional.cross_entropy(model(x), target).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_a_few_steps_fit_a_tiny_problem():
    """Trainable end to end: a handful of Adam steps learn a mask that is 'the bright pixels'."""
    torch.manual_seed(0)
    x = torch.rand(4, 1, 20, 20)
    y = (x[:, 0] > 0.5).long()
    model = UNet(in_channels=1, num_classes=2, depth=2, width=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.95


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="pad_mode"):
        UNet(pad_mode="circular")
    with pytest.raises(ValueError, match="at least 1"):
        UNet(depth=0)
