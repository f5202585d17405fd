"""A small labelled corpus written in tmp_path for the injection test: human documentation paragraphs
paired with chatbot-style answers, as the fast-detect-gpt files pair them."""

from __future__ import annotations

import json
import random
from pathlib import Path

from leakwatch.validation.pages import human_paragraphs

# The shipped model flags this chatbot register at its operating threshold far more often than
# CPython's documentation (measured while writing the test: all 40 of 40 vs 9 of 40).
TOPICS = ("home gardening", "remote work", "budget travel", "electric cars", "sourdough baking", "saving money")


SENTENCES = (
    "In today's fast-paced world, {t} has become an essential part of many people's lives.",
    "It's important to note that every situation is unique, so it is crucial to consider your own needs.",
    "Whether you are a beginner or an experienced enthusiast, understanding {t} helps you make informed decisions.",
    "Firstly, it is essential to set clear goals and establish a realistic plan.",
    "Secondly, consistency is key: small, incremental steps can lead to significant results over time.",
    "Additionally, leveraging the right tools and resources can enhance your overall experience.",
    "Moreover, {t} offers numerous benefits, including greater flexibility and a sense of accomplishment.",
    "However, it is also important to be aware of potential challenges and to approach them with patience.",
)


N_PAIRS = 150


def chatbot_text(i: int, rng: random.Random) -> str:
    """A chatbot-style answer about a topic, its opening unique to i."""
    t = TOPICS[i % len(TOPICS)]
    body = [s.format(t=t) for s in SENTENCES]
    rng.shuffle(body)
    return "\n".join([f"Certainly! Here is guide number {i} to {t}.", *body,
                      f"In conclusion, with these tips you can navigate {t} with confidence."])


def write_labeled(folder: Path) -> Path:
    """human/LLM pairs that read_corpus groups as siblings (adjacent_pair rule), in folder/fast-detect-gpt.jsonl."""
    rng = random.Random(5)
    paragraphs = human_paragraphs()
    lines = []
    for i in range(N_PAIRS):
        human = "\n".join(paragraphs[2 * i: 2 * i + 2])
        for label, text in (("human", human), ("llm", chatbot_text(i, rng))):
            lines.append({"text": text, "label": label, "generator": "" if label == "human" else "testbot",
                          "domain": "docs", "source": "fast-detect-gpt", "lang": "en"})
    (folder / "fast-detect-gpt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return folder
