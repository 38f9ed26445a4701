"""Platform text is untrusted: reduced to plain text, capped; questions recognised in Arabic and English."""

from flows.records import BODY_CAP, cap_text, looks_like_question


def test_inline_markup_disappears_without_splitting_words():
    mention = '<p><span class="h-card"><a href="https://x.example/@moh">@<span>moh</span></a></span> متى؟</p>'
    assert cap_text(mention) == "@moh متى؟"


def test_block_markup_separates_words_and_entities_are_decoded():
    assert cap_text("<p>One&amp;two</p><p>three</p>line<br/>four") == "One&two three line four"


def test_scripts_do_not_survive_as_markup():
    assert "<" not in cap_text('<script>alert("x")</script><img src=x onerror=alert(1)>hi')


def test_text_is_capped():
    capped = cap_text("ب" * BODY_CAP)  # two bytes each: twice the cap
    assert len(capped.encode("utf-8")) <= BODY_CAP and capped.endswith("…") and capped.truncated
    assert len(capped) == (BODY_CAP - 3) // 2 + 1  # cut on a character boundary, then the mark
    whole = cap_text("ب" * (BODY_CAP // 2))
    assert not whole.truncated and len(whole) == BODY_CAP // 2


def test_questions_in_both_languages():
    assert looks_like_question("When does the clinic open?")
    assert looks_like_question("متى يفتح المركز الصحي؟")
    assert not looks_like_question("شكرا جزيلا")
