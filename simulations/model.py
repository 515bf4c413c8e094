"""A small pre-LayerNorm transformer in Equinox, written for one sequence and batched with vmap.

Positions are `learned` (an embedding table), `rope` (rotary embeddings on queries and keys, as in
RoFormer / nomic-bert-2048) or `none` (no position information; a causal decoder still tells order from its
mask, Haviv et al. 2022, a bidirectional encoder does not). Attention is causal (GPT-style: one pass predicts
after every prefix) or bidirectional (BERT-style: the caller passes a mask that hides everything after the
query).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp

from simulations.config import ModelConfig
from theory.errors import InputError


def rope(x: jax.Array, positions: jax.Array, base: float = 10_000.0) -> jax.Array:
    """Rotary position embedding of x [H, T, Dh] (Dh even): rotate coordinate pairs by position-dependent angles."""
    Dh = x.shape[-1]
    freqs = base ** (-jnp.arange(0, Dh, 2) / Dh)
    angles = positions[:, None] * freqs[None, :]  # [T, Dh/2]
    cos, sin = jnp.cos(angles), jnp.sin(angles)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return jnp.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1).reshape(x.shape).astype(x.dtype)


class Attention(eqx.Module):
    qkv: eqx.nn.Linear
    out: eqx.nn.Linear
    heads: int = eqx.field(static=True)
    use_rope: bool = eqx.field(static=True)

    def __init__(self, width: int, heads: int, use_rope: bool, key: jax.Array):
        k1, k2 = jax.random.split(key)
        self.qkv = eqx.nn.Linear(width, 3 * width, key=k1)
        self.out = eqx.nn.Linear(width, width, key=k2)
        self.heads, self.use_rope = heads, use_rope

    def _heads(self, x: jax.Array, positions: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Queries, keys and values [H, T, Dh] of x [T, W] (heads first: plain batched matmuls, faster on XLA:CPU
        than einsums over [T, H, Dh]; docs/performance.md), rotated when positions are rotary."""
        T, W = x.shape
        q, k, v = jax.vmap(self.qkv)(x).reshape(T, 3, self.heads, W // self.heads).transpose(1, 2, 0, 3)
        if self.use_rope:
            q, k = rope(q, positions), rope(k, positions)
        return q, k, v

    def _merge(self, heads: jax.Array) -> jax.Array:
        """[H, T, Dh] -> the output projection of the concatenated heads [T, W]."""
        H, T, Dh = heads.shape
        return jax.vmap(self.out)(heads.transpose(1, 0, 2).reshape(T, H * Dh))

    def __call__(
        self, x: jax.Array, mask: jax.Array, positions: jax.Array, read: jax.Array | None = None
    ) -> jax.Array:
        """Attention outputs at every token, or only at the tokens `read` (indices; the queries of those rows)."""
        if x.shape[0] == 1:  # one token attends to itself with weight exactly 1: out(v); queries and keys unused
            W = x.shape[-1]  # so only the value rows of the qkv projection are computed (and differentiated)
            v = x @ self.qkv.weight[2 * W :].T + self.qkv.bias[2 * W :]
            return jax.vmap(self.out)(v)
        q, k, v = self._heads(x, positions)
        if read is not None:
            q, mask = q[:, read], mask[read]
        return self._merge(_attend(q, k, v, mask))

    def extended(
        self, x: jax.Array, mask: jax.Array, positions: jax.Array, y: jax.Array, y_positions: jax.Array, limit
    ) -> tuple[jax.Array, jax.Array]:
        """Outputs for a prompt x [T, W] (attending by `mask`) and for extra tokens y [Q, W], the i-th of which
        sees the first limit[i] prompt tokens and itself: keys and values of the prompt are computed once and
        shared by every extra token, instead of one pass over prompt + extras with a [T + Q]^2 mask."""
        q, k, v = self._heads(x, positions)
        qy, ky, vy = self._heads(y, y_positions)
        scale = math.sqrt(q.shape[-1])
        seen = jnp.arange(x.shape[0])[None, :] < jnp.asarray(limit)[:, None]  # [Q, T]
        f32 = jnp.float32  # softmax in float32 whatever the compute dtype
        cross = jnp.where(seen[None], (qy @ k.swapaxes(-1, -2)).astype(f32) / scale, -jnp.inf)  # [H, Q, T]
        own = (qy * ky).sum(-1, keepdims=True).astype(f32) / scale
        attn = jax.nn.softmax(jnp.concatenate([cross, own], axis=-1), axis=-1).astype(v.dtype)
        out_y = attn[..., :-1] @ v + attn[..., -1:] * vy
        return self._merge(_attend(q, k, v, mask)), self._merge(out_y)


def _attend(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array, fused: bool | None = None) -> jax.Array:
    """Masked softmax attention of queries [H, Q, Dh] over keys and values [H, T, Dh]; mask [Q, T].

    `fused` (default: on accelerators) goes through `jax.nn.dot_product_attention`, which picks a fused kernel
    where the backend has one (cuDNN flash attention on GPU: no [Q, T] scores kept per head for the backward
    pass); otherwise plain batched matmuls, faster on XLA:CPU than that function's reference path. The same
    numbers either way (float rounding)."""
    if fused is None:
        fused = jax.default_backend() != "cpu"
    if fused:
        out = jax.nn.dot_product_attention(q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1), mask=mask[None])
        return out.swapaxes(0, 1)
    scores = jnp.where(mask[None], (q @ k.swapaxes(-1, -2)).astype(jnp.float32) / math.sqrt(q.shape[-1]), -jnp.inf)
    return jax.nn.softmax(scores, axis=-1).astype(v.dtype) @ v


class Block(eqx.Module):
    ln1: eqx.nn.LayerNorm
    attn: Attention
    ln2: eqx.nn.LayerNorm
    fc: eqx.nn.Linear
    proj: eqx.nn.Linear

    def __init__(self, cfg: ModelConfig, key: jax.Array):
        k1, k2, k3 = jax.random.split(key, 3)
        w = cfg.width
        self.ln1, self.ln2 = eqx.nn.LayerNorm(w), eqx.nn.LayerNorm(w)
        self.attn = Attention(w, cfg.heads, cfg.positions == "rope", k1)
        self.fc = eqx.nn.Linear(w, cfg.mlp_ratio * w, key=k2)
        self.proj = eqx.nn.Linear(cfg.mlp_ratio * w, w, key=k3)

    def __call__(
        self, x: jax.Array, mask: jax.Array, positions: jax.Array, read: jax.Array | None = None
    ) -> jax.Array:
        """The block's output at every token, or at the tokens `read` only (keys and values still see them all)."""
        attended = self.attn(jax.vmap(self.ln1)(x), mask, positions, read)
        x = (x if read is None else x[read]) + attended
        return x + self._mlp(x)

    def _mlp(self, x: jax.Array) -> jax.Array:
        return jax.vmap(self.proj)(jax.nn.gelu(jax.vmap(self.fc)(jax.vmap(self.ln2)(x))))

    def extended(self, x, mask, positions, y, y_positions, limit) -> tuple[jax.Array, jax.Array]:
        """The block on a prompt x and extra tokens y (see Attention.extended)."""
        ax, ay = self.attn.extended(jax.vmap(self.ln1)(x), mask, positions, jax.vmap(self.ln1)(y), y_positions, limit)
        x, y = x + ax, y + ay
        return x + self._mlp(x), y + self._mlp(y)


class Transformer(eqx.Module):
    """features [T, F] and a mask [T, T] (True = may attend) -> outputs [T, out_dim].

    `positions` [T] (default 0..T-1) are the position ids: extra query tokens appended after a prompt reuse the id
    a query would have had inside it, so that with a suitable mask they are read exactly like that query.
    `read` (indices, default all) are the tokens whose outputs are returned: the last block computes its queries,
    attention output and MLP only there -- the same numbers as reading them off the full output, with less work per
    training step when half the tokens are read. With `remat` each block's activations are recomputed in
    the backward pass instead of stored (`jax.checkpoint`; Chen et al. 2016): the same gradients, a block's
    activations held at a time instead of all of them, for about a third more arithmetic.
    """

    embed: eqx.nn.Linear
    pos: jax.Array | None
    blocks: list[Block]
    ln_f: eqx.nn.LayerNorm
    head: eqx.nn.Linear
    dtype: str = eqx.field(static=True)

    def __init__(self, cfg: ModelConfig, in_dim: int, out_dim: int, max_len: int, key: jax.Array):
        self.dtype = cfg.dtype
        keys = jax.random.split(key, cfg.depth + 3)
        self.embed = eqx.nn.Linear(in_dim, cfg.width, key=keys[0])
        self.pos = 0.02 * jax.random.normal(keys[1], (max_len, cfg.width)) if cfg.positions == "learned" else None
        self.blocks = [Block(cfg, k) for k in keys[3:]]
        self.ln_f = eqx.nn.LayerNorm(cfg.width)
        self.head = eqx.nn.Linear(cfg.width, out_dim, key=keys[2])

    def __call__(
        self,
        features: jax.Array,
        mask: jax.Array,
        positions: jax.Array | None = None,
        read: jax.Array | None = None,
        remat: bool = False,
    ) -> jax.Array:
        if positions is None:
            positions = self._positions(features.shape[0])
        self, features = self._compute(features)
        x = self._embed(features, positions)
        for i, block in enumerate(self.blocks):
            last = i == len(self.blocks) - 1
            run = eqx.filter_checkpoint(Block.__call__) if remat else Block.__call__
            x = run(block, x, mask, positions, read if last else None)
        return jax.vmap(self.head)(jax.vmap(self.ln_f)(x)).astype(jnp.float32)

    def extended(self, features: jax.Array, mask: jax.Array, extra: jax.Array, limit: jax.Array) -> jax.Array:
        """Outputs [Q, out_dim] for extra tokens extra [Q, F] after a prompt features [T, F] (attending by `mask`):
        the i-th sees the first limit[i] prompt tokens and itself, at position id limit[i] -- what a token placed
        right after those limit[i] tokens would see. The prompt's keys and values are shared by all extra tokens."""
        positions = self._positions(features.shape[0])
        self, features = self._compute(features)
        _, extra = self._compute(extra)
        x, y = self._embed(features, positions), self._embed(extra, limit)
        for block in self.blocks:
            x, y = block.extended(x, mask, positions, y, limit, limit)
        return jax.vmap(self.head)(jax.vmap(self.ln_f)(y)).astype(jnp.float32)

    def _compute(self, features: jax.Array) -> tuple[Transformer, jax.Array]:
        """The model and its input in the compute dtype: float32 weights (what the optimizer updates) cast to
        bfloat16 when dtype = 'bfloat16' (mixed precision, Micikevicius et al. 2018: matmuls in half precision;
        layer norms and softmax computed in float32, outputs returned in float32)."""
        if self.dtype == "float32":
            return self, features
        dt = jnp.dtype(self.dtype)
        cast = jax.tree.map(lambda a: a.astype(dt) if eqx.is_inexact_array(a) else a, self)
        return cast, features.astype(dt)

    def _positions(self, T: int) -> jax.Array:
        if self.pos is not None and T > self.pos.shape[0]:
            raise InputError(f"sequence of {T} tokens exceeds the {self.pos.shape[0]} learned positions")
        return jnp.arange(T)

    def _embed(self, features: jax.Array, positions: jax.Array) -> jax.Array:
        x = jax.vmap(self.embed)(features)
        return x if self.pos is None else x + self.pos[positions]
