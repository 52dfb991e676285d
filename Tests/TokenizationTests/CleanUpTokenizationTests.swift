import Tokenization
import XCTest

final class CleanUpTokenizationTests: XCTestCase {
    /// transformers' `clean_up_tokenization` on the same string gives exactly this (checked with transformers 5.24).
    func testCleanUpTokenizationMatchesTransformers() {
        XCTAssertEqual(Tokenizer.cleanUpTokenization("Hello , world ! I 'm ok . Isn 't it ? We 're , they 've ' s don n't"),
                       "Hello, world! I'm ok. Isn 't it? We're, they've's donn't")
    }
}
