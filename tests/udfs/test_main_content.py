"""Main-content extraction: pages written here with the body text we expect, and the shared readability
pages (real saved pages with their article text marked by Readability.js's maintainers) when present."""

from __future__ import annotations

import html

import pytest

from benchmarks.bench_main_content import extraction_scores, readability_pages, shingle_scores
from leakwatch.udfs.html import main_text

ARTICLE = [
    "The river authority said on Tuesday that the new flood barrier, built over four years at a cost of 210 "
    "million euros, will close for the first time this winter when the tide rises above the warning mark.",
    "Engineers tested the gates in September. Each of the twelve steel panels swung shut in under nine "
    "minutes, faster than the design required, and the pumps kept the harbour basin two metres below the sea.",
    "Residents of the old town, whose cellars flooded three times in the last decade, welcomed the news but "
    "asked for a warning system that reaches people who do not use phones.",
    "The authority said sirens would be installed on the church towers by the end of the year.",
]
STANDFIRST = "A barrier that took four years to build will be closed for the first time."
CLOSING = "The first closure is expected in December, weather permitting."
COMMENTS = [
    "Great news, my basement was under water twice last year and the insurance would not pay any more.",
    "Four years and 210 million for twelve gates? Someone should look at where that money really went.",
]


def _page(body: str, title: str = "Flood barrier to close for the first time - Harbour Times") -> str:
    return f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>{body}</body></html>"


def _news_page() -> str:
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(12))
    related = "".join(
        f'<li><a href="/story/{i}">Another story about the harbour and the weather, part {i}</a></li>' for i in range(6)
    )
    share = '<div class="share"><a href="https://x.example/share">Share</a> <a href="/mail">Email</a></div>'
    comments = "".join(f'<div class="comment"><p>{html.escape(c)}</p></div>' for c in COMMENTS)
    return _page(
        f'<header><a href="/">Harbour Times</a><nav><ul>{nav}</ul></nav></header>'
        '<div class="content"><article><h1>Flood barrier to close for the first time</h1>'
        f"<p>{html.escape(STANDFIRST)}</p>"
        '<div class="byline">By <a href="/staff/ana">Ana Berg</a></div><div class="date">12 March 2019</div>'
        f"{share}"
        + "".join(f"<p>{html.escape(p)}</p>" for p in ARTICLE[:2])
        + '<p>Read more: <a href="/story/9">How the old dam failed in 1953 and what the city learnt</a></p>'
        + "".join(f"<p>{html.escape(p)}</p>" for p in ARTICLE[2:])
        + f"<p>{html.escape(CLOSING)}</p>"
        f'<h2>Related stories</h2><ul class="related">{related}</ul>'
        f'<section id="comments" class="comments"><h2>Comments</h2>{comments}</section>'
        "</article></div>"
        '<footer><p>&copy; 2019 Harbour Times. All rights reserved.</p><a href="/privacy">Privacy</a></footer>'
    )


def test_news_page_keeps_the_article_and_drops_its_chrome() -> None:
    text = main_text(_news_page())
    expected = "\n\n".join([STANDFIRST, *ARTICLE, CLOSING])
    precision, recall = shingle_scores(text, expected)
    assert precision == 1.0 and recall == 1.0, text
    for chrome in ("Section 3", "Ana Berg", "Share", "Read more", "Another story", *COMMENTS, "rights reserved"):
        assert chrome not in text
    assert not text.startswith("Flood barrier to close")  # the title line is the page's <title>, not its text


def test_paragraphs_stay_lines_and_subheadings_inside_the_body_stay() -> None:
    body = (
        f"<article><h1>Flood barrier</h1><p>{ARTICLE[0]}</p><h2>The tests</h2><p>{ARTICLE[1]}</p>"
        f"<pre>gate  time\n1     8:40\n2     8:55</pre><p>{ARTICLE[2]}</p></article>"
    )
    text = main_text(_page(body, title="Flood barrier"))
    assert text.split("\n\n") == [ARTICLE[0], "The tests", ARTICLE[1], "gate  time\n1     8:40\n2     8:55", ARTICLE[2]]


def test_a_page_without_a_long_block_keeps_what_resiliparse_keeps() -> None:
    lines = ["Opening hours", "Monday to Friday 9:00-17:00", "Saturday 10:00-13:00", "Closed on Sundays"]
    text = main_text(_page("".join(f"<p>{line}</p>" for line in lines), title="Contact"))
    assert text.split("\n\n") == lines


def test_a_page_the_main_content_rules_empty_falls_back_to_its_whole_text() -> None:
    # resiliparse's main-content rules drop a top-level <aside>: here it holds the only text.
    text = main_text(_page(f"<aside><p>{ARTICLE[0]}</p><p>{ARTICLE[1]}</p></aside>", title="Notes"))
    assert text == f"{ARTICLE[0]}\n\n{ARTICLE[1]}"


def test_entities_and_anchors_without_target() -> None:
    paragraph = f'<p><a id="top"></a>Use &lt;pre&gt; &amp; "quotes" in {ARTICLE[3]} <a href="/x">a link</a></p>'
    text = main_text(_page(f"<article>{paragraph}<p>{ARTICLE[0]}</p></article>", title="Entities"))
    assert text.split("\n\n")[0] == f'Use <pre> & "quotes" in {ARTICLE[3]} a link'


def test_cjk_paragraphs_count_as_long() -> None:
    # 45 characters of Chinese carry about as much as a 130-character English sentence.
    paragraphs = ["今天早上，市政府宣布新的防洪闸门将在今年冬天第一次关闭，以保护老城区的居民和商店免受海水侵袭。"] * 2
    menu = "".join(f'<p><a href="/{i}">栏目{i}</a></p>' for i in range(5))
    text = main_text(_page(menu + "".join(f"<p>{p}</p>" for p in paragraphs), title="防洪闸门"))
    assert text == "\n\n".join(paragraphs)


def test_scores_of_the_measure() -> None:
    assert shingle_scores("one two three four five", "one two three four five") == (1.0, 1.0)
    precision, recall = shingle_scores("one two three four five six", "one two three four")
    assert precision == pytest.approx(1 / 3) and recall == 1.0
    assert shingle_scores("", "one two three four") == (0.0, 0.0)


@pytest.mark.shared
def test_readability_pages_f1(shared_data) -> None:
    pages = readability_pages(shared_data / "web" / "readability" / "pages")
    scores = extraction_scores(main_text, pages)
    print("readability pages:", {part: scores[part] for part in ("dev", "check", "all")})
    assert len(pages) >= 100
    assert scores["all"]["f1"] >= 0.95 and scores["all"]["kept"] == len(pages)


def test_alt_texts_are_left_out_unless_asked_for() -> None:
    alt = "The twelve steel gates of the barrier, closed during the September test"
    body = f"<article>{''.join(f'<p>{html.escape(p)}</p>' for p in ARTICLE[:2])}<img src=gates.jpg alt=\"{alt}\">"
    body += "".join(f"<p>{html.escape(p)}</p>" for p in ARTICLE[2:]) + "</article>"
    plain, with_alt = main_text(_page(body)), main_text(_page(body), alt_texts=True)
    assert alt not in plain
    assert alt in with_alt
    assert with_alt.replace(alt, "").split() == plain.split()  # the alt text is all that changes
