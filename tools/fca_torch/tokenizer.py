"""BERT tokenization (basic pre-tokenizer + greedy WordPiece) read from vocab.txt.

Matches the uncased bert-base tokenizer: clean control characters, pad CJK
characters with spaces, lower-case, strip accents (NFD, drop Mn marks), split
on whitespace and punctuation, then greedy longest-match-first WordPiece with
`##` continuations and [UNK] for words longer than 100 characters or with no
match.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Dict, List, Optional, Tuple


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_whitespace(ch: str) -> bool:
    if ch in " \t\n\r":
        return True
    return unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_cjk(code: int) -> bool:
    ranges = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
              (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]
    return any(low <= code <= high for low, high in ranges)


class BertTokenizer:
    """Uncased BERT tokenizer producing input_ids and token_type_ids."""

    def __init__(self, vocab_path: str | Path, lower_case: bool = True, max_word_chars: int = 100) -> None:
        tokens = Path(vocab_path).read_text(encoding="utf-8").split("\n")
        if tokens and tokens[-1] == "":
            tokens.pop()
        self.vocab: Dict[str, int] = {token: index for index, token in enumerate(tokens)}
        self.lower_case = lower_case
        self.max_word_chars = max_word_chars
        self.cls_id = self.vocab["[CLS]"]
        self.sep_id = self.vocab["[SEP]"]
        self.unk_id = self.vocab["[UNK]"]
        self.pad_id = self.vocab["[PAD]"]

    def basic_tokenize(self, text: str) -> List[str]:
        """Split text into words and punctuation after cleaning and normalisation."""
        cleaned = []
        for ch in text:
            code = ord(ch)
            if code == 0 or code == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                cleaned.append(" ")
            elif _is_cjk(code):
                cleaned.append(f" {ch} ")
            else:
                cleaned.append(ch)
        text = "".join(cleaned)
        if self.lower_case:
            text = text.lower()
            text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
        words: List[str] = []
        for chunk in text.split():
            current = ""
            for ch in chunk:
                if _is_punctuation(ch):
                    if current:
                        words.append(current)
                        current = ""
                    words.append(ch)
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def wordpiece(self, word: str) -> List[int]:
        """Split one word into vocabulary ids, longest match first."""
        if len(word) > self.max_word_chars:
            return [self.unk_id]
        ids: List[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            match: Optional[int] = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    match = self.vocab[piece]
                    break
                end -= 1
            if match is None:
                return [self.unk_id]
            ids.append(match)
            start = end
        return ids

    def tokenize_ids(self, text: str) -> List[int]:
        """Return the WordPiece ids of a text without special tokens."""
        return [piece for word in self.basic_tokenize(text) for piece in self.wordpiece(word)]

    def encode(self, text: str, text_pair: Optional[str] = None, max_length: Optional[int] = None) -> Tuple[List[int], List[int]]:
        """Encode `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`; return (input_ids, token_type_ids).

        With `max_length`, the longer segment is cut one token at a time until the
        whole sequence fits (the Hugging Face "longest_first" strategy).
        """
        first = self.tokenize_ids(text)
        second = self.tokenize_ids(text_pair) if text_pair is not None else None
        if max_length is not None:
            specials = 3 if second is not None else 2
            while len(first) + (len(second) if second else 0) + specials > max_length:
                if second and len(second) > len(first):
                    second.pop()
                elif first:
                    first.pop()
                else:
                    break
        input_ids = [self.cls_id] + first + [self.sep_id]
        token_types = [0] * len(input_ids)
        if second is not None:
            input_ids += second + [self.sep_id]
            token_types += [1] * (len(second) + 1)
        return input_ids, token_types
