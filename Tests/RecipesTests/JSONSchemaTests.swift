import XCTest
import Values
@testable import Recipes

final class JSONSchemaTests: XCTestCase {
    func messages(_ schema: Value, _ value: Value) -> [String] {
        JSONSchema(schema).validate(value).map { "\($0.path.dotted): \($0.message)" }
    }

    func testTypeAndBoundsKeywords() {
        let s: Value = ["type": "object", "properties": [
            "a": ["type": "integer", "minimum": 1, "maximum": 3],
            "b": ["type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1],
            "c": ["type": ["string", "null"], "minLength": 2, "maxLength": 3, "pattern": "^x"]]]
        XCTAssertEqual(messages(s, ["a": 0, "b": 1, "c": "yyyy"]), [
            "a: must be >= 1, got 0", "b: must be < 1, got 1",
            "c: must have at most 3 characters", "c: must match the pattern ^x, got \"yyyy\""])
        XCTAssertEqual(messages(s, ["a": 4, "b": 0, "c": "x"]), ["a: must be <= 3, got 4", "b: must be > 0, got 0", "c: must have at least 2 characters"])
        XCTAssertEqual(messages(s, ["a": 2.5, "c": nil]), ["a: must be an integer, got 2.5"])
        XCTAssertEqual(messages(s, ["a": 2.0, "b": 0.5, "c": "xy"]), [])
    }

    func testRequiredAdditionalPropertiesAndSuggestions() {
        let s: Value = ["type": "object", "additionalProperties": false, "required": ["learning_rate"],
                        "properties": ["learning_rate": ["type": "number"], "seed": ["type": "integer"]]]
        XCTAssertEqual(messages(s, ["learnin_rate": 1]), [
            "(root): missing required key \"learning_rate\"", "learnin_rate: unknown key \"learnin_rate\"; did you mean \"learning_rate\"?"])
        XCTAssertEqual(messages(s, ["learning_rate": 1, "zzz": 1]), ["zzz: unknown key \"zzz\"; known keys: learning_rate, seed"])
    }

    func testEnumConstItemsAndCounts() {
        let s: Value = ["type": "object", "properties": [
            "e": ["enum": ["linear", "cosine"]], "k": ["const": 3],
            "l": ["type": "array", "items": ["type": "string"], "minItems": 1, "maxItems": 2]]]
        XCTAssertEqual(messages(s, ["e": "cosin", "k": 4, "l": [1, "a", "b"]]), [
            "e: must be one of linear, cosine; got string \"cosin\" (did you mean \"cosine\"?)", "k: must be 3, got 4",
            "l: must have at most 2 items", "l[0]: must be a string, got 1"])
        XCTAssertEqual(messages(s, ["l": []]), ["l: must have at least 1 item"])
    }

    func testCombinatorsRefsConditionalsAndDependencies() {
        let s: Value = [
            "$defs": ["pos": ["type": "integer", "minimum": 1]],
            "type": "object",
            "properties": [
                "r": ["$ref": "#/$defs/pos"],
                "t": ["oneOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]]],
                "u": ["anyOf": [["type": "integer"], ["type": "string"]]],
                "w": ["allOf": [["type": "integer"], ["minimum": 5]]],
            ],
            "if": ["properties": ["mode": ["const": "steps"]], "required": ["mode"]],
            "then": ["required": ["steps"]],
            "dependentRequired": ["a": ["b"]],
        ]
        XCTAssertEqual(messages(s, ["r": 0, "t": 3, "u": 1.5, "w": 2, "mode": "steps", "a": 1]), [
            "(root): \"a\" needs \"b\" as well", "r: must be >= 1, got 0",
            "t: must be a string, or a list of strings; got 3", "u: must be an integer, or a string; got 1.5",
            "w: must be >= 5, got 2", "(root): missing required key \"steps\""])
        XCTAssertEqual(messages(s, ["t": ["a", 1]]), ["t[1]: must be a string, got 1"])
        XCTAssertEqual(messages(s, ["r": 2, "t": "x", "u": "s", "w": 6, "mode": "epoch"]), [])
    }

    func testPropertyNamesPattern() {
        let s: Value = ["type": "object", "propertyNames": ["pattern": "^[a-z]+\\.[a-z]+$"]]
        XCTAssertEqual(messages(s, ["a.b": 1, "ab": 2]), ["ab: key must match the pattern ^[a-z]+\\.[a-z]+$, got \"ab\""])
    }
}
