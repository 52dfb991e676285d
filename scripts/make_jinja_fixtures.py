#!/usr/bin/env python3
"""Renders chat templates with transformers' own jinja environment and writes the Jinja module's fixtures.

Run: /work/main/.venv-ref/bin/python scripts/make_jinja_fixtures.py
Pinned: transformers 5.24 (chat_template_utils._compile_jinja_template), jinja2 3.1.6.
Templates: Appendix A of /work/shared/notes/tokenizers-and-chat-templates.md (verbatim Hub chat templates).
Writes Tests/JinjaTests/Fixtures/{real_templates,probes}.json: each case has template, context and either
expected (output), spans (UTF-8 byte ranges of {% generation %} output) or error (message).
"""
import json, os, re, sys
import jinja2, transformers
from transformers.utils.chat_template_utils import _compile_jinja_template

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTES = "/work/shared/notes/tokenizers-and-chat-templates.md"
OUT = os.path.join(ROOT, "Tests/JinjaTests/Fixtures")


def load_templates():
    text = open(NOTES, encoding="utf-8").read()
    out = {}
    for m in re.finditer(r"^### A\.(\w+)\n.*?^~~~~jinja\n(.*?)\n~~~~$", text, re.S | re.M):
        out[m.group(1)] = m.group(2)
    return out


def render(template, context):
    case = {"template": template, "context": context}
    try:
        compiled = _compile_jinja_template(template)
        if "generation" in template:
            blocks, spans = [], []
            with compiled.environment.activate_tracker(blocks, spans):
                for b in compiled.generate(**context):
                    blocks.append(b)
                text = "".join(blocks)
            case["expected"] = text
            case["spans"] = [[len(text[:a].encode()), len(text[:b].encode())] for a, b in spans]
        else:
            case["expected"] = compiled.render(**context)
    except Exception as e:  # the case records which error jinja raised
        case["error"] = str(e)
        case["error_type"] = type(e).__name__
        if isinstance(e, jinja2.TemplateSyntaxError):
            case["error_line"] = e.lineno
    return case


SYS = {"role": "system", "content": "You are a helpful assistant."}
U1 = {"role": "user", "content": "Hello! Ünïcödé 👋  "}
A1 = {"role": "assistant", "content": "  Hi there. How can I help?"}
U2 = {"role": "user", "content": "What's 2+2?\nThink."}
A2 = {"role": "assistant", "content": "4"}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                         "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}]
TOOL_CALL = {"role": "assistant", "content": "", "tool_calls": [{"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}}]}
TOOL_RESULT = {"role": "tool", "name": "get_weather", "tool_call_id": "call12345", "content": "22.0"}
TOOL_RESULT_DICT = {"role": "tool", "name": "get_weather", "tool_call_id": "call12345", "content": {"temp": 22.0, "sky": "clear"}}

TOKENS = {
    "llama3": ("<|begin_of_text|>", "<|eot_id|>"), "llama31": ("<|begin_of_text|>", "<|eot_id|>"),
    "qwen25": ("", "<|im_end|>"), "mistral_v01": ("<s>", "</s>"), "mistral_v03": ("<s>", "</s>"),
    "mistral_v01_original_2023": ("<s>", "</s>"), "zephyr_tinyllama": ("<s>", "</s>"), "smollm2": ("", "<|im_end|>"),
    "phi3": ("<s>", "<|endoftext|>"), "gemma2": ("<bos>", "<eos>"),
}
TOOL_TEMPLATES = {"llama31", "qwen25", "mistral_v03"}

CONVERSATIONS = {
    "user_only": [U1],
    "system_user": [SYS, U1],
    "multi_turn": [U1, A1, U2],
    "system_multi_turn": [SYS, U1, A1, U2, A2],
    "not_alternating": [U1, U2],
}
TOOL_CONVERSATIONS = {
    "tool_call": [SYS, U1, TOOL_CALL, TOOL_RESULT],
    "tool_call_dict_result": [U1, TOOL_CALL, TOOL_RESULT_DICT, {"role": "assistant", "content": "It is 22 degrees."}],
}


def real_cases(templates):
    cases = []
    for name, tpl in templates.items():
        bos, eos = TOKENS.get(name, ("<s>", "</s>"))
        convs = dict(CONVERSATIONS)
        if name in TOOL_TEMPLATES:
            convs.update(TOOL_CONVERSATIONS)
        for conv_name, msgs in convs.items():
            for agp in (False, True):
                ctx = {"messages": msgs, "add_generation_prompt": agp, "bos_token": bos, "eos_token": eos}
                if conv_name.startswith("tool"):
                    ctx["tools"] = TOOLS
                c = render(tpl, ctx)
                c["name"] = f"{name}/{conv_name}/agp={agp}"
                cases.append(c)
        if name in TOOL_TEMPLATES:
            c = render(tpl, {"messages": [U1], "tools": TOOLS, "add_generation_prompt": True, "bos_token": bos, "eos_token": eos})
            c["name"] = f"{name}/tools_listed"
            cases.append(c)
    return cases


P = []


def probe(probe_name, template, **ctx):
    P.append((probe_name, template, ctx))


# Output and printing
probe("print_none_bool", "{{ none }}|{{ true }}|{{ false }}|{{ x }}|{{ y }}", x=None, y=True)
probe("print_numbers", "{{ 10/4 }} {{ 4/2 }} {{ 7//2 }} {{ -7//2 }} {{ -7 % 3 }} {{ 2**10 }} {{ 2**-1 }} {{ 1e20 }} {{ 22.0 }} {{ 0.1+0.2 }} {{ 1e-5 }} {{ 123456789.123 }} {{ 1e16 }} {{ 1e15 }}")
probe("print_containers", "{{ ['a', \"b'c\", 1, 2.0, none, true] }} {{ {'a': 1, 'b': [1, 2]} }} {{ (1,) }} {{ (1, 'x') }} {{ x }}", x={"k": "v\n", "n": None})
probe("print_undefined", "[{{ missing }}][{{ messages[5] }}][{{ 'str'.content }}]", messages=[])
probe("string_escapes", "{{ 'a\\tb\\nc\\\\d\\'e\\x41\\u00e9\\d' }}|{{ \"x\" 'y' }}")
# Whitespace control
probe("ws_trim_lstrip", "a\n  {% if true %}\n    b\n  {% endif %}\nc\n")
probe("ws_minus", "a   {%- if true -%}   b   {%- endif -%}   c")
probe("ws_var_minus", "a \n {{- 'b' -}} \n c")
probe("ws_lstrip_not_var", "x\n  {{ 'v' }}\n  {% if true %}y{% endif %}")
probe("ws_plus", "a\n  {%+ if true +%}\nb{% endif %}")
probe("ws_comment", "a\n  {# comment #}\nb {#- c -#} c\n")
probe("ws_trailing_newlines", "a\n\n")
probe("ws_crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc")
probe("raw_block", "{% raw %}{{ not evaluated }} {% if %}{% endraw %}|{%- raw -%}  x  {%- endraw -%}  |")
# Control flow
probe("if_elif_else", "{% for x in [1, 2, 3, 4] %}{% if x == 1 %}one{% elif x == 2 %}two{% elif x is odd %}odd{% else %}other{% endif %},{% endfor %}")
probe("for_loop_vars", "{% for x in ['a', 'b', 'c'] %}{{ loop.index0 }}{{ loop.index }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}[{{ loop.previtem }}|{{ loop.nextitem }}]{{ loop.cycle('x', 'y') }};{% endfor %}")
probe("for_else", "{% for x in [] %}{{ x }}{% else %}empty{% endfor %}|{% for x in missing %}{{ x }}{% else %}undef-empty{% endfor %}")
probe("for_filter", "{% for m in messages if m.role != 'system' %}{{ loop.index }}:{{ m.content }}/{{ loop.length }} {% endfor %}",
      messages=[SYS, U1, A1])
probe("for_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [[1, 2], (3, 4)] %}{{ a + b }}{% endfor %}", d={"x": 1, "y": [2]})
probe("for_dict_and_string", "{% for k in d %}{{ k }}{% endfor %}|{% for c in 'héy' %}[{{ c }}]{% endfor %}", d={"b": 1, "a": 2})
probe("for_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}")
probe("nested_loops", "{% for a in [1, 2] %}{% for b in ['x', 'y'] %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}")
probe("set_scoping", "{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}{% for i in [1, 2, 3] %}[{{ y }}]{% set y = i %}{% endfor %}[{{ y }}]{% for i in [1] %}{% set x = 9 %}{% endfor %}{{ x }}")
probe("set_block", "{% set x %}Hello {{ name }}!{% endset %}[{{ x }}]{{ x | length }}", name="Bob")
probe("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 2 %}{{ t }}")
probe("namespace", "{% set ns = namespace(found=false, n=0) %}{% for m in [1, 2, 3] %}{% set ns.n = ns.n + m %}{% if m == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }} {{ ns.n }}")
probe("macro", "{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', 'Hi') }} {{ greet('C', punct='?') }} {{ greet(name='D') }}")
probe("macro_sees_globals", "{% macro show() %}{{ bos_token }}{{ x }}{% endmacro %}{% set x = 'top' %}{{ show() }}", bos_token="<s>")
probe("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}inside {{ 1 + 1 }}{% endcall %}")
probe("generation_spans", "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' %}{% generation %}{{ m.content }}</s>{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}",
      messages=[U1, A1, U2, {"role": "assistant", "content": "é👍 ok"}])
probe("generation_ws", "{%- for m in messages %}\n  {%- if m.role == 'assistant' %}\n    {%- generation -%}\n      {{ m.content }}\n    {%- endgeneration %}\n  {%- else %}{{ m.content }}{% endif %}\n{%- endfor %}",
      messages=[U1, A1])
# Expressions
probe("arith_concat", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'a' ~ 1 ~ none ~ missing }} {{ 'ab' * 3 }} {{ [1] + [2, 3] }} {{ 1 + 2.5 }} {{ -3 | abs }} {{ -(3) }} {{ 7 % 2 }} {{ 2 ** 3 ** 2 }} {{ 1 - - 1 }}")
probe("comparison_logic", "{{ 1 == 1.0 }} {{ '1' == 1 }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ true and 'x' }} {{ false or 'y' }} {{ not 1 }} {{ none or 0 }} {{ [1, 2] == [1, 2] }} {{ {'a': 1} == {'a': 1} }} {{ true == 1 }}")
probe("in_operator", "{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 'tool_calls' in m }} {{ not 'x' in 'abc' }}", d={"k": None}, m={"tool_calls": None})
probe("filter_precedence", "{{ '<h>' + ' x ' | trim + '<e>' }} {{ not x is defined }} {{ -2 | abs }} {{ 'a' if false }}|", )
probe("cond_expr", "{{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} {{ 'a' if false else 'b' if true else 'c' }}")
probe("slicing", "{{ 'abcdef'[1:-1] }} {{ 'abcdef'[::-1] }} {{ [1, 2, 3, 4][1:] }} {{ [1, 2, 3, 4][:2] }} {{ [1, 2, 3, 4, 5][::2] }} {{ 'héllo'[1:3] }} {{ messages[-1]['content'] }} {{ [1,2,3][-5:10] }} {{ 'abc'[5:] }}|", messages=[U1, A1])
probe("subscript_attr", "{{ m.role }} {{ m['role'] }} {{ m.get('missing', 'dflt') }} {{ m.get('role') }} {{ m.items() | list }} {{ m['items'] }} {{ x[0] }} {{ x.0 }} {{ 'abc'[1] }}", m={"role": "user", "items": "key!"}, x=[7])
probe("literals", "{{ [1, 'two', [3]] }} {{ {'a': {'b': 2}}['a']['b'] }} {{ (1, 2)[1] }} {{ [] }} {{ {} }} {{ () }} {{ [1, 2,] }}")
probe("string_methods", "{{ '  x  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  x '.lstrip() }}|{{ ' x  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'aBc'.upper() }}{{ 'aBc'.lower() }}|{{ 'hello world-foo'.title() }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ '{} and {}'.format(1, 'x') }}|{{ 'hello'.capitalize() }}|{{ 'abcabc'.find('c') }}|{{ 'abcabc'.count('b') }}|{{ '-'.join(['a', 'b']) }}")
probe("dict_methods", "{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('a') }} {{ d.get('zz') }}", d={"a": 1, "b": 2})
probe("list_append_is_unsafe", "{% set xs = [] %}{{ xs.append(1) }}{{ xs }}")
probe("dict_update_is_unsafe", "{% set d = {} %}{{ d.update({'a': 1}) }}")
probe("range_dict_globals", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1, b='x') }} {{ dict([('k', 1)]) }}")
# Tests
probe("is_tests", "{% for v in [none, true, 1, 1.5, 'abc', [1], {'a': 1}] %}{{ v is defined }}{{ v is none }}{{ v is string }}{{ v is mapping }}{{ v is sequence }}{{ v is number }}{{ v is integer }}{{ v is iterable }}{{ v is true }}{{ v is false }}{{ v is boolean }};{% endfor %}{{ missing is undefined }}{{ missing is defined }}")
probe("is_tests_args", "{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}{{ 'a' is equalto 'a' }}{{ 2 is eq(2) }}{{ 3 is not eq 3 }}{{ 5 is gt 2 }}{{ 2 is in [1, 2] }}")
# Filters
probe("filters_text", "{{ '  a b  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'aBc' | upper }}{{ 'aBc' | lower }}|{{ 'hello WORLD' | capitalize }}|{{ 'hello wORLD-x (y' | title }}|{{ 'aaa' | replace('a', 'bb') }}|{{ 'aaa' | replace('a', 'b', 1) }}|{{ missing | upper }}|{{ none | trim }}|{{ 'x' | safe }}|{{ 12 | string }}|{{ '<&>' | e }}")
probe("filters_length", "{{ 'e\\u0301👍🏽' | length }} {{ [1, 2] | count }} {{ {'a': 1} | length }} {{ missing | length }} {{ [3, 1, 2] | first }} {{ [3, 1, 2] | last }} {{ 'abc' | first }} {{ 'abc' | list }}")
probe("filters_join", "{{ ['a', 'b', 1] | join(', ') }} {{ [{'n': 'x'}, {'n': 'y'}] | join('-', attribute='n') }} {{ 'abc' | join('.') }}")
probe("filters_default", "{{ missing | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ none | d('d', boolean=true) }} {{ 0 | d(5, true) }}")
probe("filters_tojson", "{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ x | tojson(separators=(',', ':')) }}|{{ x | tojson(sort_keys=true) }}|{{ 'é\"</' | tojson }}|{{ 'é' | tojson(ensure_ascii=true) }}|{{ [] | tojson(indent=4) }}|{{ 1e-07 | tojson }}|{{ (1, 2) | tojson }}",
      x={"z": 1, "a": [1, 2.0, None, True, "t\n"], "e": {}, "u": "ü☃"})
probe("filters_tojson_undefined", "{{ missing | tojson }}")
probe("filters_items_select", "{{ d | items | list }} {{ xs | selectattr('k') | list }} {{ xs | rejectattr('k') | list }} {{ xs | selectattr('k', 'equalto', 2) | map(attribute='k') | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 0, 2] | reject | list }} {{ [1, 0, 2] | select | list }} {{ xs | map(attribute='missing', default='z') | list }} {{ ['a', 'b'] | map('upper') | list }}",
      d={"a": 1}, xs=[{"k": 1}, {"k": 0}, {"k": 2}])
probe("filters_indent", "[{{ 'a\\nb\\n\\nc' | indent }}][{{ 'a\\nb' | indent(2, true) }}][{{ 'a\\n\\nb' | indent(width=1, blank=true) }}][{{ 'a\\nb' | indent('> ') }}]")
probe("filters_numbers", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int }} {{ 'x' | int(7) }} {{ 3.9 | int }} {{ '2.5' | float }} {{ 3 | float }} {{ -2.5 | abs }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.567 | round(2) }} {{ 2.1 | round(0, 'ceil') }} {{ 2.9 | round(method='floor') }} {{ 3 | round }} {{ [1, 2, 3] | sum }} {{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }}")
probe("filters_collections", "{{ [3, 1, 2, 1] | unique | list }} {{ ['b', 'A', 'a'] | unique | list }} {{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ ['b', 'A', 'c'] | sort }} {{ xs | sort(attribute='k') | map(attribute='k') | list }} {{ [1, 2, 3] | reverse | list }} {{ 'abc' | reverse }} {{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 0) | list }}",
      xs=[{"k": 2}, {"k": 1}])
probe("ws_same_line_no_lstrip", "{{ 'a' }}  {% if true %}b{% endif %}  {% if true %}c{% endif %}\n  {% if true %}d{% endif %}")
probe("ws_template_start_lstrip", "   {% if true %}x{% endif %}\n\t {# c #}\ny")
probe("ws_minus_var_after_block", "{% for m in [1, 2] %}\n  {{- m }}\n{% endfor %}\n{%- if true %}\n  z\n{% endif %}")
probe("ws_block_end_no_newline", "{% if true %}   x{% endif %}   \n  {% if false %}no{% else %}\n\n  yes\n{% endif %}")
probe("bool_ops_values", "[{{ 0 or '' }}][{{ 'a' and 0 }}][{{ none and x }}][{{ [] or [1] }}][{{ none is none }}][{{ x is not none }}]", x=1)
probe("float_repr_more", "{{ 100.0 }} {{ 1.5e300 }} {{ -0.0 }} {{ 0.0001 }} {{ 0.00001234 }} {{ 1/3 }} {{ 2.5e-10 }} {{ 12345678901234567.0 }} {{ 3.0 * 2 }} {{ 10 / 5 }} {{ 9999999999999998.0 }}")
probe("selectattr_chain", "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | map(attribute='role') | join(',') }} {{ messages | rejectattr('role', 'in', ['system']) | map(attribute='role') | list }}", messages=[SYS, U1, A1, U2])
probe("set_from_outer_in_loop", "{% set x = 10 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }} {% endfor %}{{ x }}")
probe("macro_loop_caller", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% if not loop.last %}, {% endif %}{% endfor %}{% endmacro %}{% call(item) each([1, 2, 3]) %}<{{ item * 2 }}>{% endcall %}")
probe("tojson_strings", "{{ 'a\\u0001b\\u001f\\u007f\\t' | tojson }} {{ '👍é' | tojson(ensure_ascii=true) }} {{ x | tojson(indent=2, sort_keys=true) }}", x={"b": [{"y": 1, "x": [[]]}], "a": None})
probe("tojson_nested_tool", "{% for t in tools %}{{ t | tojson(indent=4) }}\n{{ t.function | tojson }}{% endfor %}", tools=TOOLS)
probe("strip_unicode_ws", "[{{ '\\u3000 x\\u00a0\\n' | trim }}][{{ '\\u3000x '.strip() }}]")
probe("string_compare_unicode", "{{ 'é' > 'z' }} {{ 'B' < 'a' }} {{ [1, 2] | length > 1 }}")
probe("loop_previtem_first", "{% for x in [1, 2] %}[{{ loop.previtem }}][{{ loop.nextitem }}]{{ loop.previtem is defined }}{% endfor %}")
probe("iterate_dict_items_filter", "{% for k, v in d | items %}{{ k }}:{{ v }},{% endfor %}{% for k, v in d.items() if v > 1 %}{{ k }}{% endfor %}", d={"a": 1, "b": 2, "c": 3})
probe("nested_namespace_list", "{% set ns = namespace(items=[]) %}{% for x in [1, 2] %}{% set ns.items = ns.items + [x * 10] %}{% endfor %}{{ ns.items }}")
probe("string_multiplication_and_title", "{{ '=' * 5 }} {{ 'hello-world foo_bar' | title }} {{ \"o'neil mcdonald\".title() }} {{ 'ǅungla'.upper() }}")
probe("content_list_blocks", "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}{% for c in m.content %}{% if c.type == 'text' %}{{ c.text }}{% elif c.type == 'image' %}<img>{% endif %}{% endfor %}{% endif %}|{% endfor %}",
      messages=[U1, {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]}])
probe("syntax_error_unclosed_if", "a\n{% if x %}\nb")
probe("syntax_error_unknown_tag", "a\n\n{% frobnicate %}")
probe("undefined_index_then_attr_error", "{{ messages[3].content.x }}", messages=[])
probe("int_float_division_zero_error", "{{ 1 / 0 }}")
probe("percent_format", "{{ '%s has %d items (%r) 100%%' % ('list', 3.7, 'x') }} {{ 'v=%s' % none }} {{ 7 % 3 }}")
probe("with_block", "{% set a = 1 %}{% with a = 2, b = a + 10 %}{{ a }}{{ b }}{% endwith %}{{ a }}")
probe("namespace_set_underscore_error", "{% set ns = namespace() %}{% set ns._hidden = 1 %}")
probe("raise_exception", "line one\n{% if true %}\n{{ raise_exception('Custom failure: ' ~ 42) }}\n{% endif %}")
probe("undefined_attr_error", "{{ m.a.b }}", m={})
probe("undefined_plus_error", "{{ 'a' + missing }}")
probe("none_plus_error", "{{ 'a' + none }}")
probe("call_undefined_error", "{{ nothing() }}")
probe("for_over_none_error", "{% for x in none %}{% endfor %}")
probe("namespace_underscore_error", "{% set ns = namespace(_x=1) %}")


def main():
    print("transformers", transformers.__version__, "jinja2", jinja2.__version__)
    templates = load_templates()
    assert len(templates) >= 9, templates.keys()
    os.makedirs(OUT, exist_ok=True)
    real = real_cases(templates)
    probes = []
    for name, tpl, ctx in P:
        c = render(tpl, ctx)
        c["name"] = name
        probes.append(c)
    meta = {"transformers": transformers.__version__, "jinja2": jinja2.__version__}
    for fname, cases in (("real_templates.json", real), ("probes.json", probes)):
        with open(os.path.join(OUT, fname), "w", encoding="utf-8") as f:
            json.dump({"generator": "scripts/make_jinja_fixtures.py", "versions": meta, "cases": cases}, f, ensure_ascii=False, indent=1)
        print(fname, len(cases), "cases,", sum("error" in c for c in cases), "errors")


if __name__ == "__main__":
    main()
