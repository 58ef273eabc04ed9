"""sciml.nn: masked attention (dense and context/query forms agree), transformer layers."""

from __future__ import annotations

import pytest
import torch

from sciml.nn import MultiheadAttention, TransformerEncoder, attention, context_query_mask, mlp

torch.set_num_threads(1)


@pytest.mark.parametrize("dense_up_to", [0, 256])  # the O(L n) path and the fused one
@pytest.mark.parametrize("n_context", [0, 1, 4, 7])
def test_context_query_attention_equals_the_dense_mask(n_context, dense_up_to, monkeypatch):
    monkeypatch.setattr(attention, "DENSE_MASK_MAX_LENGTH", dense_up_to)
    torch.manual_seed(0)
    attn = MultiheadAttention(12, 3).double()
    x = torch.randn(2, 7, 12, dtype=torch.float64)
    dense = attn(x, x, x, attn_mask=context_query_mask(n_context, 7))
    torch.testing.assert_close(attn.context_query(x, n_context), dense, rtol=0, atol=1e-12)


def test_context_query_mask_is_the_papers():
    mask = context_query_mask(2, 4)
    expected = torch.tensor(
        [[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 0, 1]], dtype=torch.bool
    )
    assert torch.equal(mask, expected)
    with pytest.raises(ValueError, match="n_context"):
        context_query_mask(5, 4)


def test_key_padding_mask_ignores_padded_keys():
    torch.manual_seed(0)
    attn = MultiheadAttention(8, 2).double()
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    pad = torch.tensor([[False, False, False, True, True]])
    full = attn(x, x, x, key_padding_mask=pad)
    short = attn(x, x[:, :3], x[:, :3])
    torch.testing.assert_close(full, short)


def test_causal_attention_does_not_look_ahead():
    torch.manual_seed(0)
    attn = MultiheadAttention(8, 2).double()
    x = torch.randn(1, 6, 8, dtype=torch.float64)
    y = x.clone()
    y[:, 4:] += 1.0
    a, b = attn(x, x, x, is_causal=True), attn(y, y, y, is_causal=True)
    torch.testing.assert_close(a[:, :4], b[:, :4])


def test_attention_gradcheck():
    torch.manual_seed(0)
    attn = MultiheadAttention(4, 2).double()
    x = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: attn.context_query(t, 2), (x,))


@pytest.mark.parametrize("norm_first", [False, True])
def test_zero_initialised_layers_are_the_identity_up_to_norm(norm_first):
    torch.manual_seed(0)
    enc = TransformerEncoder(2, 8, 2, 16, norm_first=norm_first)
    for layer in enc.layers:
        layer.zero_init_residual()
    x = torch.randn(3, 5, 8)
    expected = x
    for layer in enc.layers:  # each residual branch adds zero
        expected = expected if norm_first else layer.norm2(layer.norm1(expected))
    torch.testing.assert_close(enc(x, n_context=2), enc.norm(expected))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="multiple of heads"):
        MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="activation"):
        TransformerEncoder(1, 8, 2, 16, activation="tanh")
    with pytest.raises(ValueError, match="layers"):
        mlp(2, 4, 1, layers=0)
    assert len(mlp(2, 4, 1, layers=3)) == 5


# ---- decoder layers ---------------------------------------------------------------------


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_without_self_attention_treats_queries_independently(norm_first):
    from sciml.nn import TransformerDecoder

    torch.manual_seed(0)
    dec = TransformerDecoder(2, 16, 4, 32, self_attention=False, norm_first=norm_first).eval()
    memory, x = torch.randn(2, 7, 16), torch.randn(2, 5, 16)
    full = dec(x, memory)
    alone = torch.cat([dec(x[:, i : i + 1], memory) for i in range(5)], dim=1)
    torch.testing.assert_close(full, alone, atol=1e-5, rtol=1e-5)


def test_causal_decoder_does_not_look_ahead_and_ignores_memory_padding():
    from sciml.nn import TransformerDecoder

    torch.manual_seed(1)
    dec = TransformerDecoder(2, 16, 4, 32).eval()
    memory, x = torch.randn(1, 6, 16), torch.randn(1, 5, 16)
    pad = torch.tensor([[False] * 4 + [True] * 2])
    out = dec(x, memory, is_causal=True, memory_padding_mask=pad)
    # changing a later token or a padded memory slot changes nothing before it
    x2, memory2 = x.clone(), memory.clone()
    x2[:, 3:] += 1.0
    memory2[:, 4:] += 5.0
    out2 = dec(x2, memory2, is_causal=True, memory_padding_mask=pad)
    torch.testing.assert_close(out[:, :3], out2[:, :3], atol=1e-5, rtol=1e-5)
    # causal with target padding agrees with plain causal on the unpadded tokens
    tpad = torch.tensor([[False] * 4 + [True]])
    out3 = dec(x, memory, is_causal=True, memory_padding_mask=pad, padding_mask=tpad)
    torch.testing.assert_close(out[:, :4], out3[:, :4], atol=1e-5, rtol=1e-5)


def test_decoder_layer_gradcheck():
    from sciml.nn import TransformerDecoderLayer

    torch.manual_seed(2)
    layer = TransformerDecoderLayer(8, 2, 16).double()
    x = torch.randn(1, 3, 8, dtype=torch.float64, requires_grad=True)
    memory = torch.randn(1, 4, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, m: layer(a, m, is_causal=True), (x, memory))
