"""PyTorch reference for training speed: Garg et al. (2022)'s backbone -- a Hugging Face GPT2Model with a linear
read-in and read-out, no dropout -- trained on in-context halfspaces (d = 8, 32 examples, 66 tokens, batch 64)
with Adam, on 2 threads (CPU) or one GPU.

    PY benchmarks/torch_reference.py LAYERS WIDTH HEADS [DEVICE [BATCH]]   # PY: a Python with torch, transformers

Prints one line ending in "STEPS steps/s". Not a project dependency: `benchmarks/train.py --compare-torch PY`
runs it in its own environment beside the package's own step, at the same configuration.
"""

import sys
import time

import torch
from transformers import GPT2Config, GPT2Model

D, EXAMPLES, BATCH = 8, 32, 64
LENGTH = 2 * (EXAMPLES + 1)  # an input token and a label token per example


class Model(torch.nn.Module):
    def __init__(self, layers: int, width: int, heads: int):
        super().__init__()
        config = GPT2Config(
            n_positions=LENGTH,
            n_embd=width,
            n_layer=layers,
            n_head=heads,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            use_cache=False,
        )
        self.read_in, self.backbone = torch.nn.Linear(D, width), GPT2Model(config)
        self.read_out = torch.nn.Linear(width, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        hidden = self.backbone(inputs_embeds=self.read_in(tokens)).last_hidden_state
        return self.read_out(hidden)[:, ::2, 0]  # the prediction at every input token


def batch(size: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    w = torch.randn(size, D, 1, device=device)
    x = torch.randn(size, EXAMPLES + 1, D, device=device)
    y = torch.sign(x @ w)[..., 0]
    tokens = torch.zeros(size, LENGTH, D, device=device)
    tokens[:, ::2] = x
    tokens[:, 1::2, 0] = y
    return tokens, (y > 0).float()


def main() -> None:
    layers, width, heads = (int(a) for a in sys.argv[1:4])
    device = sys.argv[4] if len(sys.argv) > 4 else "cpu"
    size = int(sys.argv[5]) if len(sys.argv) > 5 else BATCH
    if device == "cpu":
        torch.set_num_threads(2)
    else:  # float32 matmuls in TF32 where the GPU has it, as JAX's default precision computes them there
        torch.set_float32_matmul_precision("high")
    model = Model(layers, width, heads).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        tokens, labels = batch(size, device)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(tokens), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(5):
        step()
    sync()
    n = 60
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    sync()
    rate = n / (time.perf_counter() - t0)
    print(f"torch {torch.__version__} {layers}x{width}, {heads} heads: {rate:.2f} steps/s")


if __name__ == "__main__":
    main()
