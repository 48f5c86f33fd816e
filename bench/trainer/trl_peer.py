#!/usr/bin/env python3
"""The peer side of bench/trainer/grpo_update_bench.py: TRL's GRPOTrainer update step, timed per phase.

    ~/.cache/visrl/venv-peers/bin/python bench/trainer/trl_peer.py [--model DIR] [--image PNG] [--image-size 448]
        [--prompts 4] [--group 8] [--response-len 64] [--kl-coef 0.04] [--steps 3] [--threads 2]
        [--optim adamw_torch_fused] [--json]

Same flags and the same one-line JSON as build/bin/grpo_update_bench (--json), plus TRL-only keys.

What runs: trl.GRPOTrainer.train() on --prompts x --group sequences per optimizer step, float32 on the CPU,
unmodified except that generation is replaced by seeded random completions of exactly --response-len tokens
(no eos; `_generate_single_turn` is overridden, so no sampling happens) and the reward is a seeded random number,
so advantages are non-zero. Nothing of TRL's update path is patched: the timers are a subclass wrapping TRL's own
methods, trainer callbacks around optimizer.step(), and a wrapper on accelerator.backward / clip_grad_norm_.

The configuration that makes TRL do, per optimizer step, exactly one no-grad policy forward (old log-probs), one
no-grad reference forward (ref log-probs), one forward+backward (loss) and one AdamW step over the same 32 sequences:
  per_device_train_batch_size = P*G, gradient_accumulation_steps = 1, steps_per_generation = 2, num_iterations = 1.
TRL computes old log-probs only when gradient_accumulation_steps % (steps_per_generation * num_iterations) != 0
(otherwise it uses the loss forward's own log-probs, detached). With steps_per_generation = 2 one generation batch
(2 P prompts x G) feeds 2 optimizer steps of P*G sequences each; TRL then computes old and ref log-probs over the
generation batch in chunks of per_device_train_batch_size = P*G rows (2 forwards each), i.e. one P*G-row forward of
each per optimizer step, the same shapes as visrl's. The per-step figures are the cycle's totals / 2, the median
over --steps cycles after one warm-up cycle. Generation (incl. TRL's prompt tokenization and image processing for it),
the reward function and TRL's second image-processor call (it re-processes the PIL images into pixel_values for the
forwards) are excluded; everything else TRL does in the two optimizer steps counts in update_s.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench/policy"))
from policy_bench import prepare  # noqa: E402  (the model copy with the image cap raised, shared)
DEFAULT_MODEL = ROOT / "tests/fixtures/qwen3vl/untied"
DEFAULT_IMAGE = ROOT / "tests/fixtures/qwen3vl/images/a.png"
# The same prompt as bench/policy/policy_bench.py (and the C++ side): the prompt token counts are compared.
DEFAULT_PROMPT = ("Write Python matplotlib code that reproduces this chart exactly: the same chart type, "
                  "data, colors, axis labels, ticks, legend and title.")
STEPS_PER_GENERATION = 2  # see the module docstring: the smallest value that makes TRL compute old log-probs


def require_trl():
    try:
        import accelerate  # noqa: F401
        import datasets  # noqa: F401
        import PIL  # noqa: F401
        import transformers  # noqa: F401
        import trl  # noqa: F401
    except ImportError as e:
        sys.exit(f"trl_peer: {e.name or e} is not installed in {sys.prefix}: run `./scripts/setup --peers` "
                 "(it installs trl, accelerate and datasets from scripts/requirements-peers.txt) and use "
                 "~/.cache/visrl/venv-peers/bin/python")


def run(model_dir: Path, image: Path, args) -> dict:
    require_trl()
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    import accelerate
    import datasets
    import transformers
    import trl
    from PIL import Image
    from transformers import AutoProcessor, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    transformers.logging.set_verbosity_error()
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()

    P, G, L, spg = args.prompts, args.group, args.response_len, STEPS_PER_GENERATION
    rows = P * G
    cycles = 1 + args.steps  # one warm-up cycle
    # The fast (torchvision) image processor: TRL runs it on every row's image of every generation batch, outside
    # the timed update but inside the benchmark's run time.
    processor = AutoProcessor.from_pretrained(str(model_dir), use_fast=True)
    pil = Image.open(image).convert("RGB")

    # The prompt ids as policy_bench.py (and visrl) build them: image first, then the text, generation prompt.
    ref_msgs = [{"role": "user", "content": [{"type": "image", "image": pil}, {"type": "text", "text": args.prompt}]}]
    expected_prompt = processor.apply_chat_template(ref_msgs, tokenize=True, add_generation_prompt=True,
                                                    return_dict=True, return_tensors="pt")["input_ids"][0].tolist()

    # P * steps_per_generation distinct dataset rows per generation batch, all the same image and text.
    train = datasets.Dataset.from_dict({
        "prompt": [[{"role": "user", "content": args.prompt}]] * (P * spg),
        "image": [pil] * (P * spg),
    })

    vocab_hi = min(processor.tokenizer.convert_tokens_to_ids(t) for t in processor.tokenizer.all_special_tokens)
    vocab_hi = min(vocab_hi, len(processor.tokenizer) - 1)
    rng_completions = random.Random(args.seed)
    rng_rewards = random.Random(args.seed + 1)

    def random_reward(prompts, completions, **kwargs):
        return [rng_rewards.random() for _ in completions]

    now = time.perf_counter

    class Clock:
        """Per-cycle sums of each phase (a cycle = one generation batch = steps_per_generation optimizer steps)."""

        def __init__(self):
            self.cycles = []
            self.cur = None
            self.in_generate = False
            self.step_t0 = None
            self.steps_in_cycle = 0
            self.shapes = None
            self.prompt_ids = None
            self.threads_seen = set()

        def add(self, key, dt):
            self.cur[key] = self.cur.get(key, 0.0) + dt

        def count(self, key):
            self.cur[key] = self.cur.get(key, 0) + 1

    clock = Clock()

    class TimedGRPOTrainer(GRPOTrainer):
        def _generate(self, prompts):
            t0 = now()
            clock.in_generate = True
            try:
                return super()._generate(prompts)
            finally:
                clock.in_generate = False
                clock.add("generation_s", now() - t0)

        def _tokenize_prompts(self, prompts):
            # Part of generation (excluded), only feeds generation (replaced below) and the prompt ids. Every prompt
            # of the batch is the same image + text, so it is tokenized (and its image processed) once, not 2*P*G
            # times; the images of all rows are still passed on, since TRL processes them again for the forwards.
            ids, _, _ = super()._tokenize_prompts(prompts[:1])
            images = [[part["image"] for m in prompt if isinstance(m["content"], list) for part in m["content"]
                       if part["type"] == "image"] or None for prompt in prompts]
            return [list(ids[0]) for _ in prompts], images, {}

        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations,
                                  has_tool_images=False):
            # No sampling: exactly L random ids per row, none of them special (so no eos, nothing masked).
            clock.prompt_ids = [list(map(int, ids)) for ids in prompt_ids]
            completion_ids = [[rng_completions.randrange(vocab_hi) for _ in range(L)] for _ in prompt_ids]
            return completion_ids, None

        def _prepare_inputs(self, generation_batch):
            t0 = now()
            try:
                return super()._prepare_inputs(generation_batch)
            finally:
                clock.add("prepare_inputs_s", now() - t0)

        def _generate_and_score_completions(self, inputs):
            t0 = now()
            try:
                return super()._generate_and_score_completions(inputs)
            finally:
                clock.add("generate_and_score_s", now() - t0)

        def _calculate_rewards(self, *a, **k):
            t0 = now()
            try:
                return super()._calculate_rewards(*a, **k)
            finally:
                clock.add("rewards_s", now() - t0)

        def _get_per_token_logps_and_entropies(self, model, input_ids, *a, **k):
            if torch.is_grad_enabled():
                kind = "loss_forward"
            elif self.ref_model is not None and model is self.ref_model:
                kind = "ref"
            else:
                kind = "old"
            t0 = now()
            out = super()._get_per_token_logps_and_entropies(model, input_ids, *a, **k)
            clock.add(f"{kind}_s", now() - t0)
            clock.count(f"{kind}_calls")
            clock.add(f"{kind}_rows", int(input_ids.shape[0]))
            return out

        def compute_loss(self, model, inputs, *a, **k):
            clock.shapes = {"prompt_ids": list(inputs["prompt_ids"].shape),
                            "completion_ids": list(inputs["completion_ids"].shape),
                            "has_old": "old_per_token_logps" in inputs, "has_ref": "ref_per_token_logps" in inputs,
                            "adv_abs_mean": float(inputs["advantages"].abs().mean())}
            t0 = now()
            loss = super().compute_loss(model, inputs, *a, **k)
            clock.add("loss_backward_s", now() - t0)
            return loss

    class StepClock(TrainerCallback):
        def on_step_begin(self, args_, state, control, **kw):
            if clock.steps_in_cycle == 0:
                clock.cur = {}
                clock.cycles.append(clock.cur)
            clock.step_t0 = now()
            clock.threads_seen.add(torch.get_num_threads())

        def on_pre_optimizer_step(self, args_, state, control, **kw):
            clock.opt_t0 = now()

        def on_optimizer_step(self, args_, state, control, **kw):
            clock.add("optimizer_s", now() - clock.opt_t0)

        def on_step_end(self, args_, state, control, **kw):
            clock.add("wall_s", now() - clock.step_t0)
            clock.steps_in_cycle = (clock.steps_in_cycle + 1) % spg

    out_dir = Path(tempfile.mkdtemp(prefix="trl_peer_"))
    try:
        config = GRPOConfig(
            output_dir=str(out_dir),
            use_cpu=True, bf16=False, fp16=False,
            model_init_kwargs={"dtype": "float32"},
            per_device_train_batch_size=rows,
            gradient_accumulation_steps=1,
            steps_per_generation=spg,
            num_iterations=1,
            num_generations=G,
            max_completion_length=L,
            temperature=1.0,
            beta=args.kl_coef,
            epsilon=0.2,
            loss_type="dapo",  # TRL's default: token-mean over the step's completion tokens
            learning_rate=1e-6,
            weight_decay=0.01,
            adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8,
            optim=args.optim,
            lr_scheduler_type="constant",
            max_grad_norm=1.0,
            gradient_checkpointing=False,  # GRPOConfig defaults it to True; compared without checkpointing
            max_steps=cycles * spg,
            logging_strategy="no", save_strategy="no", report_to="none", disable_tqdm=True,
            seed=args.seed,
        )
        trainer = TimedGRPOTrainer(model=str(model_dir), reward_funcs=random_reward, args=config,
                                   train_dataset=train, processing_class=processor, callbacks=[StepClock()])

        # TRL re-processes the PIL images into pixel_values for the forwards on every generation batch: timed and
        # excluded (image preprocessing is not part of the update). The class swap keeps isinstance checks working.
        proc_cls = type(trainer.processing_class)

        def timed_call(self_, *a, **k):
            if clock.in_generate:
                return proc_cls.__call__(self_, *a, **k)
            t0 = now()
            try:
                return proc_cls.__call__(self_, *a, **k)
            finally:
                clock.add("image_preprocess_s", now() - t0)

        trainer.processing_class.__class__ = type("Timed" + proc_cls.__name__, (proc_cls,), {"__call__": timed_call})

        acc = trainer.accelerator
        orig_backward, orig_clip = acc.backward, acc.clip_grad_norm_

        def timed_backward(*a, **k):
            t0 = now()
            try:
                return orig_backward(*a, **k)
            finally:
                clock.add("loss_backward_s", now() - t0)

        def timed_clip(*a, **k):
            t0 = now()
            try:
                return orig_clip(*a, **k)
            finally:
                clock.add("clip_s", now() - t0)

        acc.backward, acc.clip_grad_norm_ = timed_backward, timed_clip

        policy = trainer.model
        if getattr(policy, "is_gradient_checkpointing", False):
            sys.exit("trl_peer: gradient checkpointing is on; the comparison assumes it is off")
        trainer.train()

        measured = clock.cycles[1:]
        if len(clock.cycles) != cycles or not measured:
            sys.exit(f"trl_peer: expected {cycles} generation cycles, saw {len(clock.cycles)}")
        # Per cycle: old and ref = one call each over the 2*P*G-row generation batch (TRL loops over it in chunks
        # of per_device_train_batch_size = P*G rows inside the call), loss = one call of P*G rows per optimizer step.
        want = {"old": (1, spg * rows), "ref": (1, spg * rows) if args.kl_coef > 0 else (0, 0),
                "loss_forward": (spg, spg * rows)}
        for c in clock.cycles:
            for kind, (calls, nrows) in want.items():
                got = (c.get(f"{kind}_calls", 0), int(c.get(f"{kind}_rows", 0)))
                if got != (calls, nrows):
                    sys.exit(f"trl_peer: TRL did not run the expected forwards: {kind} {got[0]} calls over {got[1]} "
                             f"rows, expected {calls} over {nrows}; cycle {c}")

        excluded = ("generation_s", "rewards_s", "image_preprocess_s")

        def breakdown(c):
            """One cycle as per-optimizer-step seconds; the parts of update_s add up to it."""
            g = lambda k: c.get(k, 0.0) / spg  # noqa: E731
            b = {"old_logprobs_s": g("old_s"), "ref_logprobs_s": g("ref_s"),
                 "loss_forward_s": g("loss_forward_s"),  # the forward part of loss_backward_s
                 "loss_backward_s": g("loss_backward_s"),
                 "optimizer_s": g("optimizer_s"),
                 "clip_s": g("clip_s"),  # clip_grad_norm_(1.0): in update_s, not in optimizer_s
                 # _generate_and_score_completions less generation, the old/ref forwards, rewards and image
                 # preprocessing: padding, chat template text, advantages, metrics
                 "scoring_other_s": g("generate_and_score_s") - sum(g(k) for k in (
                     "generation_s", "old_s", "ref_s", "rewards_s", "image_preprocess_s")),
                 # _prepare_inputs less _generate_and_score_completions: shuffling the generation batch and
                 # splitting it into optimizer steps, pixel_values included (each row has its own image copy)
                 "batch_split_s": g("prepare_inputs_s") - g("generate_and_score_s"),
                 "update_s": g("wall_s") - sum(g(k) for k in excluded)}
            b["rest_s"] = b["update_s"] - sum(b[k] for k in (
                "old_logprobs_s", "ref_logprobs_s", "loss_backward_s", "optimizer_s", "clip_s", "scoring_other_s",
                "batch_split_s"))  # zero_grad, lr scheduler, callbacks, Trainer bookkeeping
            for k in excluded:
                b["excluded_" + k] = g(k)
            return b

        per_cycle = [breakdown(c) for c in measured]
        med = {k: statistics.median(b[k] for b in per_cycle) for k in per_cycle[0]}
        median_cycle = sorted(per_cycle, key=lambda b: b["update_s"])[(len(per_cycle) - 1) // 2]
        update = med["update_s"]
        prompt_tokens = len(clock.prompt_ids[0])
        if any(len(p) != prompt_tokens for p in clock.prompt_ids):
            sys.exit("trl_peer: prompts of different lengths (padding would change the work)")
        tokens = rows * (prompt_tokens + L)
        result = {
            "impl": "trl",
            "old_logprobs_s": med["old_logprobs_s"],
            "ref_logprobs_s": med["ref_logprobs_s"],
            "loss_backward_s": med["loss_backward_s"],
            "optimizer_s": med["optimizer_s"],
            "update_s": update,
            "tokens": tokens,
            "tokens_per_s": tokens / update,
            "prompt_tokens": prompt_tokens,
            # TRL-only detail: every key as a median, and the breakdown of the cycle whose update_s is the median
            "medians": med,
            "median_cycle": median_cycle,
            "prompt_ids_match_chat_template": clock.prompt_ids[0] == expected_prompt,
            "image_tokens": sum(1 for t in clock.prompt_ids[0] if t == policy.config.image_token_id),
            "rows": rows, "completion_tokens": L, "threads": sorted(clock.threads_seen),
            "cycles_measured": len(measured), "steps_per_generation": spg, "optim": str(args.optim),
            "batch_shapes": clock.shapes,
            "versions": {"trl": trl.__version__, "transformers": transformers.__version__,
                         "accelerate": accelerate.__version__, "datasets": datasets.__version__,
                         "torch": torch.__version__},
            "per_cycle": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items()}
                          for c in clock.cycles],
        }
        return result
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def add_args(ap):
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--image", default=str(DEFAULT_IMAGE))
    ap.add_argument("--image-size", type=int, default=448, help="upscale the image to SxS (0 = as is)")
    ap.add_argument("--prompt", default=DEFAULT_PROMPT, help=argparse.SUPPRESS)
    ap.add_argument("--prompts", type=int, default=4, help="P prompts per optimizer step")
    ap.add_argument("--group", type=int, default=8, help="G completions per prompt")
    ap.add_argument("--response-len", type=int, default=64, help="L tokens per completion, exactly")
    ap.add_argument("--kl-coef", type=float, default=0.04, help="TRL beta (k3 KL to the reference model)")
    ap.add_argument("--steps", type=int, default=3, help="measured generation cycles (2 optimizer steps each)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--optim", default="adamw_torch_fused",
                    help="transformers optim name (TRL's default adamw_torch_fused, or adamw_torch)")
    ap.add_argument("--seed", type=int, default=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(ap)
    ap.add_argument("--json", action="store_true", help="print only the JSON object")
    args = ap.parse_args()
    require_trl()
    tmp = Path(tempfile.mkdtemp(prefix="trl_peer_in_"))
    try:
        model_dir, image = prepare(args.model, args.image, args.image_size, tmp)
        result = run(model_dir, image, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.json:
        for k in ("old_logprobs_s", "ref_logprobs_s", "loss_backward_s", "optimizer_s", "update_s"):
            print(f"{k:>16}: {result[k] * 1e3:9.1f} ms", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
