"""Files a user writes by hand or another tool exports: a byte order mark, answers written as text, a repeated
column, a line that never ends, JSON nested without end. Each is read as meant, or refused in one line."""
import json
import tracemalloc

import pytest

from conftest import assert_one_line_error, curate, snapshot
from curation.csvio import MAX_LINE, read_rows
from curation.errors import BadInput
from curation.ingest.layouts import read_qa

CHOICES = ["A. go straight", "B. turn left", "C. stop"]


def _qa(path, answers, bom=False):
    data = [{"id": f"q{k}", "question": "next?", "choices": CHOICES, "answer": a, "video_path": "v.mp4"}
            for k, a in enumerate(answers)]
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps({"data": data}).encode())
    return path


def test_ids_and_paths_with_surrounding_spaces_are_the_same_ids(tmp_path):
    path = _qa(tmp_path / "qa.json", ["A", "B"])
    data = json.loads(path.read_text())
    data["data"][0].update(id=" q0 ", video_path=" v.mp4 ")
    path.write_text(json.dumps(data))
    assert [(v.video_id, v.path) for v in read_qa(path).videos] == [("q0", "v.mp4"), ("q1", "v.mp4")]


def test_qa_answers_given_as_letters_or_as_text_name_the_same_choice(tmp_path):
    answers = ["B", "turn left", "B. turn left", "b) turn left", "Stop", "c", "A. go straight"]
    source = read_qa(_qa(tmp_path / "qa.json", answers, bom=True))  # a byte order mark is fine
    assert [v.label for v in source.videos] == [1, 1, 1, 1, 2, 2, 0]


@pytest.mark.parametrize("answer", ["a bit left", "B. stop", "D", "go"])
def test_a_qa_answer_that_names_no_choice_is_refused_not_read_by_its_first_letter(tmp_path, answer):
    with pytest.raises(BadInput, match=r"qa.json question 2: answer .* is not one of its 3 choices"):
        read_qa(_qa(tmp_path / "qa.json", ["A", answer]))


def test_json_nested_without_end_is_one_line(ws_dir, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    before = snapshot(ws_dir)
    for command in (("ingest", "qa", deep), ("import-predictions", "x", deep)):
        assert_one_line_error(curate("-w", ws_dir, *command), "deep.json nests lists or objects too deeply")
    assert snapshot(ws_dir) == before


def test_csv_header_with_a_repeated_column_is_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("path,label,label\na.mp4,x,y\n")
    with pytest.raises(BadInput, match="column\\(s\\) label appear more than once"):
        read_rows(path, ["path", "label"])


def test_csv_rows_keep_their_physical_line_numbers_and_skip_blank_lines(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('\ufeffid,note\n\na," two\nlines"\n\nb, spaced \n')
    rows = read_rows(path, ["id"])
    assert [(r["id"], r["note"], r["_line"]) for r in rows] == [("a", "two\nlines", 4), ("b", "spaced", 6)]


def test_a_line_that_never_ends_is_refused_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "w") as f:
        f.write("id,note\na,")
        for _ in range(20):
            f.write("x" * (1 << 20))  # a 20 MiB field on one line
    tracemalloc.start()
    with pytest.raises(BadInput, match="has a line longer than"):
        read_rows(path, ["id"])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * MAX_LINE * 4  # about one capped line (4 bytes a character at most), never the file


def test_a_field_beyond_the_csv_modules_limit_is_one_line(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("id,note\na," + "y" * 200_000 + "\n")  # under the line cap, over csv's field limit
    with pytest.raises(BadInput, match="wide.csv line 2: field larger than field limit"):
        read_rows(path, ["id"])


def test_training_on_questions_without_answers_is_refused_before_any_step(prebuilt, tmp_path):
    videos = sorted((prebuilt / "data" / "train").glob("*.mp4"))[:4]
    data = [{"id": f"q{k}", "question": "?", "choices": CHOICES, "video_path": str(v)} for k, v in enumerate(videos)]
    for k, answer in enumerate(["A", "B"]):
        data[k]["answer"] = answer
    (tmp_path / "qa.json").write_text(json.dumps({"data": data}))
    ws_dir = tmp_path / "ws"
    assert curate("-w", ws_dir, "ingest", "qa", tmp_path / "qa.json", "--frame-size", "32", "--val-fraction",
                  "0.01").returncode == 0
    tiny = ("--model", "mvit_tiny", "--weights", "none", "--workers", "0", "--batch-size", "2")
    for smoke in (("--smoke",), ()):  # a smoke run says it as a real run does, never "passed" with a NaN loss
        line = assert_one_line_error(curate("-w", ws_dir, "train", *smoke, *tiny), "training clips have no label")
        assert "q2" in line or "q3" in line
    assert not (ws_dir / "runs").exists() or not any((ws_dir / "runs").iterdir())
