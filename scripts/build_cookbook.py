# ruff: noqa: E501 - notebook cells held as strings keep their own lines
"""Write the cookbook notebooks from plain code, run them, and save their outputs.

Each notebook is a list of cells below (markdown or code). They run offline
in a few seconds: the chat models are `FakeUsageChatModel` or the simulated
responder, with real model names, real token counts and real prices.

Usage:
    uv run python scripts/build_cookbook.py [NAME ...]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

COOKBOOK = Path(__file__).resolve().parents[1] / "cookbook"

Cell = tuple[str, str]  # ("md" | "code", source)

CACHE: list[Cell] = [
    (
        "md",
        "# Semantic cache\n\n"
        "`SemanticFaissCache` answers repeated *and reworded* questions from a "
        "local FAISS index, with the default embedder (int8 MiniLM on "
        "onnxruntime): no API key, no network. Here the model is "
        "`FakeUsageChatModel`, an offline stand-in that reports real `gpt-4o` "
        "token usage, so the dollars below are real list prices.",
    ),
    (
        "code",
        "from langchain_finops.cache import SemanticFaissCache\n"
        "from langchain_finops.costs import track_costs\n"
        "from langchain_finops.testing import FakeUsageChatModel\n"
        "\n"
        "cache = SemanticFaissCache()\n"
        "model = FakeUsageChatModel(\n"
        '    model_name="gpt-4o",\n'
        '    responses=["Top up by bank transfer, card or Apple Pay in the app."],\n'
        "    cache=cache,  # or globally: set_llm_cache(cache)\n"
        ")",
    ),
    (
        "md",
        "Four questions from real banking customers' wording: two paraphrases of "
        "the first, and one about something else. The cache marks each hit with "
        "its tier and similarity.",
    ),
    (
        "code",
        "questions = [\n"
        '    "How do I top up my account?",\n'
        '    "How can I top up my account?",\n'
        '    "how do i top up my account",\n'
        '    "What is the exchange rate for euros?",\n'
        "]\n"
        "with track_costs() as costs:\n"
        "    for question in questions:\n"
        "        reply = model.invoke(question)\n"
        "        print(f\"{question!r:45} {reply.response_metadata.get('finops_cache')}\")",
    ),
    ("code", "print(costs)"),
    (
        "md",
        "`stats()` counts hits by tier, misses, and the hits the guard refused "
        "(different numbers, negations, names...).",
    ),
    (
        "code",
        "stats = cache.stats()\n"
        "print(stats.exact_hits, stats.semantic_hits, stats.misses, stats.guard_rejections)",
    ),
    (
        "md",
        "The guard in action: similar wording, different amount. The cache does "
        "not serve it.",
    ),
    (
        "code",
        'print(cache.similarity("Send 50 euros to Anna", "Send 500 euros to Anna"))',
    ),
]

ROUTER: list[Cell] = [
    (
        "md",
        "# Model router\n\n"
        "`create_model_router` sends easy prompts to a cheap model and hard ones "
        "to a strong one. The default classifier is a small learned model shipped "
        "with the package (no network). The ledger books the routing saving as "
        "what each call would have cost on the strong model minus what it cost.",
    ),
    (
        "code",
        "from langchain_finops.costs import track_costs\n"
        "from langchain_finops.routing import create_model_router\n"
        "from langchain_finops.testing import FakeUsageChatModel\n"
        "\n"
        "router = create_model_router(\n"
        '    cheap=FakeUsageChatModel(model_name="gpt-4o-mini"),\n'
        '    strong=FakeUsageChatModel(model_name="gpt-4o"),\n'
        ")",
    ),
    (
        "code",
        "prompts = [\n"
        '    "What time is it in Tokyo?",\n'
        '    "Is my card blocked?",\n'
        '    "Prove that there are infinitely many primes, then write a Python "\n'
        '    "function that lists the first n primes and explain its complexity.",\n'
        "]\n"
        "with track_costs() as costs:\n"
        "    for prompt in prompts:\n"
        "        reply = router.invoke(prompt)\n"
        "        score = router.classifier.score(prompt)\n"
        "        print(f\"{score:.2f}  {reply.response_metadata['model_name']:12} {prompt[:50]}\")\n"
        'print(costs.savings["routing"])',
    ),
    (
        "md",
        "Calibrate the threshold on prompts like yours so that a chosen share "
        "goes to the strong model. Here: 100 real queries of the shipped sample.",
    ),
    (
        "code",
        "from langchain_finops.simulate import load_sample\n"
        "\n"
        "sample = [r.prompt for r in load_sample(limit=120).records if r.prompt][:100]\n"
        "(threshold,) = router.calibrate(sample, strong_share=0.25)\n"
        "scores = router.classifier.scores(sample)\n"
        'print(f"threshold {threshold:.3f}: "\n'
        '      f"{sum(s >= threshold for s in scores)} of {len(sample)} go to gpt-4o")',
    ),
]

MEMORY: list[Cell] = [
    (
        "md",
        "# Rolling summary memory\n\n"
        "`RollingSummaryMemory` keeps a long conversation under a token budget: "
        "a running summary of old turns plus the recent ones verbatim. Here a "
        "real 40-turn chat from the shipped sample (BYU chit-chat, MIT) is "
        "replayed; the summariser is an offline stand-in for `gpt-4o-mini`.",
    ),
    (
        "code",
        "from langchain_core.messages import AIMessage, HumanMessage\n"
        "from langchain_finops.costs import count_tokens, track_costs\n"
        "from langchain_finops.memory import RollingSummaryMemory\n"
        "from langchain_finops.simulate import load_sample\n"
        "from langchain_finops.testing import FakeUsageChatModel\n"
        "\n"
        "chat = next(r for r in load_sample(limit=200).records if r.messages)\n"
        "turns = [\n"
        '    HumanMessage(t.content) if t.role == "user" else AIMessage(t.content)\n'
        "    for t in chat.messages\n"
        "]\n"
        "summariser = FakeUsageChatModel(\n"
        '    model_name="gpt-4o-mini",\n'
        '    responses=["They chatted about naps, work and design tools."],\n'
        ")\n"
        'memory = RollingSummaryMemory(llm=summariser, model="gpt-4o", max_tokens=300)\n'
        'len(turns), int(count_tokens(turns, model="gpt-4o"))',
    ),
    (
        "md",
        "With a `session_id` the memory keeps the history: each call passes only "
        "what is new (the last reply and the next question).",
    ),
    (
        "code",
        'config = {"configurable": {"session_id": chat.session}}\n'
        "sent, full, since = [], [], 0\n"
        "with track_costs() as costs:\n"
        "    for position, message in enumerate(turns):\n"
        "        if not isinstance(message, HumanMessage):\n"
        "            continue\n"
        "        to_send = memory.invoke(turns[since : position + 1], config=config)\n"
        "        since = position + 1\n"
        '        sent.append(int(count_tokens(to_send, model="gpt-4o")))\n'
        '        full.append(int(count_tokens(turns[: position + 1], model="gpt-4o")))\n'
        'print("full history:", full)\n'
        'print("sent:        ", sent)',
    ),
    ("code", 'print(costs.savings["memory"])'),
]

COMPRESSION: list[Cell] = [
    (
        "md",
        "# Prompt compression\n\n"
        "`PromptCompressor` is a Runnable that removes tokens from a prompt "
        "(a string, a prompt value or messages) and reports how many to the "
        "cost ledger.",
    ),
    (
        "code",
        "from langchain_core.messages import HumanMessage, SystemMessage\n"
        "from langchain_finops.compression import PromptCompressor\n"
        "from langchain_finops.costs import count_tokens, track_costs\n"
        "from langchain_finops.testing import FakeUsageChatModel\n"
        "\n"
        "compressor = PromptCompressor()\n"
        'model = FakeUsageChatModel(model_name="gpt-4o")\n'
        "chain = compressor | model",
    ),
    (
        "code",
        "context = (\n"
        '    "Our refund policy. Basically, as a matter of fact, customers can, in "\n'
        '    "general, ask for a refund of an order within thirty days of delivery. "\n'
        '    "In order to do so, they should, if at all possible, keep the receipt. "\n'
        '    "Refunds are, for the most part, paid back to the card that was used."\n'
        ")\n"
        "messages = [\n"
        '    SystemMessage("You answer questions about the shop\'s policies."),\n'
        '    HumanMessage(context + "\\n\\nQuestion: how long do I have to ask for a refund?"),\n'
        "]\n"
        "with track_costs() as costs:\n"
        "    chain.invoke(messages)\n"
        'before = int(count_tokens(messages, model="gpt-4o"))\n'
        'after = int(count_tokens(compressor.invoke(messages), model="gpt-4o"))\n'
        'print(f"{before} tokens before, {after} after")\n'
        'print(costs.savings["compression"])',
    ),
]

COSTS: list[Cell] = [
    (
        "md",
        "# Cost tracking\n\n"
        "`track_costs()` prices every LangChain call inside the block with "
        "`genai-prices` (a dated, offline price table), by model and by chain, "
        "and collects what the other techniques saved.",
    ),
    (
        "code",
        "from langchain_core.prompts import ChatPromptTemplate\n"
        "from langchain_finops.costs import track_costs\n"
        "from langchain_finops.testing import FakeUsageChatModel\n"
        "\n"
        'prompt = ChatPromptTemplate.from_messages([("human", "{question}")])\n'
        'cheap = FakeUsageChatModel(model_name="gpt-4o-mini", responses=["Yes."])\n'
        'strong = FakeUsageChatModel(model_name="gpt-4o", responses=["It depends."])\n'
        'quick = (prompt | cheap).with_config(run_name="quick_answers")\n'
        'careful = (prompt | strong).with_config(run_name="careful_answers")\n'
        "\n"
        "with track_costs() as costs:\n"
        '    quick.invoke({"question": "Is the shop open today?"})\n'
        '    careful.invoke({"question": "Should I pay my loan early?"})\n'
        "print(costs)",
    ),
    (
        "code",
        'print(costs.total_cost, costs.by_chain["careful_answers"].cost)',
    ),
    (
        "md",
        "A model no price table knows (a fine-tune, a private deployment) is "
        "reported as unpriced, never as $0. Give its price in USD per million "
        "tokens:",
    ),
    (
        "code",
        'mine = FakeUsageChatModel(model_name="acme-support-7b", responses=["Hello!"])\n'
        'overrides = {"acme-support-7b": {"input": 0.2, "output": 0.6}}\n'
        "with track_costs(price_overrides=overrides) as costs:\n"
        '    mine.invoke("Hi")\n'
        'costs.to_dict()["totals"]',
    ),
]

END_TO_END: list[Cell] = [
    (
        "md",
        "# End to end: what would the package save on this traffic?\n\n"
        "This is `langchain-finops demo` as code. The shipped sample is real "
        "public traffic (BANKING77 and CLINC150 queries, BYU chit-chat "
        "conversations) arranged as a stream. The replay sends every call to "
        "the baseline (gpt-4o, full history, nothing else) and to the optimised "
        "pipeline (memory, compression, router, cache). Replies are simulated, "
        "with lengths drawn from real answers; prompts, token counts and prices "
        "are real.",
    ),
    (
        "code",
        "from rich.console import Console\n"
        "from langchain_finops.simulate import PipelineOptions, load_sample, simulate\n"
        "from langchain_finops.simulate import report\n"
        "\n"
        "traffic = load_sample(limit=120)\n"
        "result = simulate(traffic, options=PipelineOptions())\n"
        "plain = Console(width=100, force_jupyter=False, color_system=None)\n"
        "plain.print(report.render(result))",
    ),
    (
        "md",
        "The same figures as data (money as decimal strings), as written by `--json`:",
    ),
    (
        "code",
        "summary = report.summary(result)\n"
        '{k: summary[k] for k in ("baseline_cost", "optimised_cost", "saved_share",\n'
        '                         "cache_hit_rate", "false_hit_rate", "routing_shares")}',
    ),
    (
        "md",
        "Your own traffic: a JSONL file of prompts or chat sessions, or a CSV "
        "file with a text column.",
    ),
    (
        "code",
        "from pathlib import Path\n"
        "from langchain_finops.simulate import load_traffic\n"
        "\n"
        'examples = Path("..") / "examples"\n'
        'mine = simulate(load_traffic(examples / "traffic.jsonl"))\n'
        "summary = report.summary(mine)\n"
        'print(summary["calls"], summary["baseline_cost"], summary["optimised_cost"])',
    ),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01_semantic_cache": CACHE,
    "02_model_router": ROUTER,
    "03_rolling_summary_memory": MEMORY,
    "04_prompt_compression": COMPRESSION,
    "05_cost_tracking": COSTS,
    "06_end_to_end": END_TO_END,
}


def notebook(cells: list[Cell]) -> nbformat.NotebookNode:
    """A notebook of the cells, with a Python 3 kernel."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(source)
        if kind == "md"
        else nbformat.v4.new_code_cell(source)
        for kind, source in cells
    ]
    return nb


def execute(nb: nbformat.NotebookNode, *, timeout: int = 120) -> None:
    """Run `nb` in place in a fresh kernel started in `cookbook/`.

    The kernel talks over Unix sockets ("ipc"), not TCP, so that it also runs
    where the network is switched off (the test suite blocks TCP sockets).
    """
    # An absolute socket path: the kernel runs in cookbook/, not here.
    sockets = tempfile.mkdtemp(prefix="finops-kernel-")
    manager = KernelManager(
        kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel")
    )
    client = NotebookClient(
        nb,
        km=manager,
        timeout=timeout,
        resources={"metadata": {"path": str(COOKBOOK)}},
    )
    client.execute()


def _lint(path: Path) -> nbformat.NotebookNode:
    """Sort imports and format the cells with ruff, as the repository's code is."""
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run(
        [*ruff, "check", "--fix", "--select", "I", "-q", str(path)], check=True
    )
    subprocess.run([*ruff, "format", "-q", str(path)], check=True)
    return nbformat.read(path, as_version=4)


def build(name: str) -> Path:
    """Write, lint, run and save notebook `name`; return its path."""
    path = COOKBOOK / f"{name}.ipynb"
    nbformat.write(notebook(NOTEBOOKS[name]), path)
    nb = _lint(path)
    execute(nb)
    for index, cell in enumerate(nb.cells):
        # Stable ids keep the saved files diffable from build to build.
        cell["id"] = f"{name}-{index}"
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)
    return path


def main() -> None:
    """Build the notebooks named on the command line, or all of them."""
    COOKBOOK.mkdir(exist_ok=True)
    for name in sys.argv[1:] or list(NOTEBOOKS):
        print(build(name))


if __name__ == "__main__":
    main()
