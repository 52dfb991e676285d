import XCTest
import Values
@testable import Datasets

final class ExampleFormatTests: XCTestCase {
    func row(_ columns: Value, line: Int = 3) -> Row {
        Row(columns: columns.objectValue!, location: RowLocation(file: "d.jsonl", line: line, row: line - 1))
    }

    func testFormatIsDetectedFromColumnsLikeTRL() {
        XCTAssertEqual(DatasetFormat.detect(columns: ["messages"], textField: "text"), .conversational)
        XCTAssertEqual(DatasetFormat.detect(columns: ["conversations", "id"], textField: "text"), .conversational)
        XCTAssertEqual(DatasetFormat.detect(columns: ["prompt", "completion"], textField: "text"), .instruction)
        XCTAssertEqual(DatasetFormat.detect(columns: ["text", "label"], textField: "text"), .text)
    }

    func testTextColumnMissingOrNotTextIsAnErrorNamingTheRow() {
        let f = ExampleFormatter(format: .text)
        XCTAssertEqual(try f.format(row(["text": "hi"])), .text("hi"))
        XCTAssertThrowsError(try f.format(row(["body": "hi"]))) {
            XCTAssertEqual("\($0)", "d.jsonl:3: no \"text\" column (columns: body); set data.dataset_text_field to the text column, data.template to combine columns, or data.format")
        }
        XCTAssertThrowsError(try f.format(row(["text": 5]))) { XCTAssertTrue("\($0)".contains("\"text\" is integer, not text")) }
    }

    func testShareGPTConversationsMapToMessages() throws {
        let f = ExampleFormatter(format: .conversational)
        let r = row(["conversations": [["from": "human", "value": "Hi"], ["from": "gpt", "value": "Hello"]]])
        XCTAssertEqual(try f.format(r), .conversation([["role": "user", "content": "Hi"], ["role": "assistant", "content": "Hello"]]))
        XCTAssertThrowsError(try f.format(row(["conversations": [["from": "robot", "value": "x"]]]))) {
            XCTAssertTrue("\($0)".contains("conversations[0].from is \"robot\""), "\($0)")
        }
    }

    func testPromptCompletionPlainAndConversational() throws {
        let f = ExampleFormatter(format: .instruction)
        XCTAssertEqual(try f.format(row(["prompt": "2+2=", "completion": "4"])), .promptCompletion(prompt: "2+2=", completion: "4"))
        let conv = row(["prompt": [["role": "user", "content": "q"]], "completion": [["role": "assistant", "content": "a"]]])
        XCTAssertEqual(try f.format(conv), .conversationalPromptCompletion(prompt: [["role": "user", "content": "q"]], completion: [["role": "assistant", "content": "a"]]))
        XCTAssertThrowsError(try f.format(row(["prompt": [["content": "q"]], "completion": []]))) { XCTAssertTrue("\($0)".contains("prompt[0] has no \"role\"")) }
    }

    func testFieldTemplatesFillColumnsAndNameUnknownFields() throws {
        let t = try FieldTemplate("### Question: {question}\n ### Answer: {answer} {{literal}} #{n}")
        XCTAssertEqual(t.fields, ["question", "answer", "n"])
        XCTAssertEqual(try t.render(row(["question": "Why?", "answer": "Because", "n": 2])), "### Question: Why?\n ### Answer: Because {literal} #2")
        XCTAssertThrowsError(try t.render(row(["question": "Why?", "n": 1], line: 9))) {
            XCTAssertEqual("\($0)", "d.jsonl:9: the template names {answer}, but the row has no such column (columns: question, n); fix data.template or the row, or set data.on_bad_row: skip")
        }
        XCTAssertThrowsError(try FieldTemplate("oops {q")) { XCTAssertTrue("\($0)".contains("never closed")) }
        XCTAssertThrowsError(try FieldTemplate("oops }")) { XCTAssertTrue("\($0)".contains("lone")) }
    }
}
