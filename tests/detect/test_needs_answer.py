"""The needs-answer rules, one behaviour per test; the labelled sample is measured in test_sample.py."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.detect.needs_answer import Detector, needs_answer, normalise


@pytest.mark.parametrize("text", [
    "متى يفتح المركز الصحي؟", "When does the clinic open?", "هل يوجد دوام يوم السبت", "وين مكتب الخدمات",
    "شلون أجدد البطاقة", "ليش الموقع ما يفتح", "كم رسوم التجديد", "ممكن رقم التواصل", "يرجى التواصل معي",
    "أرجو الإفادة", "please send the form", "Could you share the link", "how do I renew my licence",
    "I need an appointment", "Is the office open today", "the app is not working since Monday",
    "السلام عليكم ما هي شروط التسجيل", "شكرا، بس متى النتائج", "؟",
])
def test_questions_requests_and_complaints_need_an_answer(text):
    assert needs_answer(text).needs_answer, needs_answer(text)


@pytest.mark.parametrize("text, reason", [
    ("شكراً 🌹", "thanks or greeting only"), ("👍👍👍", "emoji or punctuation only"), ("", "empty"),
    ("كيف حالكم؟", "thanks or greeting only"), ("Thank you so much!", "thanks or greeting only"),
    ("جزاكم الله خير", "thanks or greeting only"), ("Eid Mubarak 🎉", "thanks or greeting only"),
    ("يعطيكم العافيــــة", "thanks or greeting only"), ("@moh_oman thanks", "thanks or greeting only"),
    ("حضرت الفعالية أمس مع عائلتي", "no question, request or complaint"),
])
def test_thanks_greetings_likes_emoji_and_statements_do_not(text, reason):
    assert needs_answer(text).needs_answer is False
    assert needs_answer(text).reason == reason


def test_normalisation_removes_diacritics_tatweel_and_unifies_digits_and_letters():
    assert normalise("هَــــلْ أُجدِّدُ ٣ بطاقات؟ https://x.om/a?b=1") == "هل اجدد 3 بطاقات؟"
    assert normalise("شكراااا كفوووو") == "شكرا كفو"


def test_a_question_mark_inside_a_link_is_not_a_question():
    assert not needs_answer("تفاصيل الخبر هنا https://moh.gov.om/news?id=3").needs_answer


def test_ma_and_man_ask_only_at_the_start_of_a_sentence():
    assert needs_answer("من المسؤول عن التأخير").needs_answer
    assert not needs_answer("استفدت كثيرا من المحاضرة").needs_answer


def test_the_reason_names_the_signal():
    assert needs_answer("ممكن الرابط").reason == "request or complaint 'ممكن'"
    assert needs_answer("وهل الخدمة مجانية").reason == "interrogative 'هل'"


def test_extra_words_from_the_policy_are_added_per_language():
    detector = Detector({"ar": {"requests": ["عطوني"]}, "en": {"not": ["cheers mate"]}})
    assert detector("عطوني الرابط").needs_answer
    assert not needs_answer("عطوني الرابط").needs_answer
    assert detector("cheers mate").reason == "thanks or greeting only"


def test_classify_prints_one_json_object_per_input_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["classify"], input="متى يفتح المركز؟\nشكراً 🌹\n\nعطوني الرابط\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows == [{"text": "متى يفتح المركز؟", "needs_answer": True, "reason": "question mark"},
                    {"text": "شكراً 🌹", "needs_answer": False, "reason": "thanks or greeting only"},
                    {"text": "", "needs_answer": False, "reason": "empty"},
                    {"text": "عطوني الرابط", "needs_answer": False, "reason": "no question, request or complaint"}]
    config = shutil.copytree(Path(__file__).parents[2] / "config", tmp_path / "config")
    policy = config / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("ar: {questions: [], requests: [], not: []}",
                                                                 "ar: {questions: [], requests: [عطوني], not: []}"),
                      encoding="utf-8")
    result = runner.invoke(app, ["classify", "--config", str(config)], input="عطوني الرابط\n")
    assert json.loads(result.stdout)["needs_answer"] is True
