import XCTest
import TestSupport
@testable import Datasets

/// Packing against TRL 1.16's pack_dataset (fixture from scripts/make_packing_fixtures.py).
final class PackingTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { var strategy: String; var input_ids: [[Int]]; var completion_mask_matches: Bool; var seq_lengths: [[Int]]? }
        var lengths: [Int]
        var seq_length: Int
        var cases: [Case]
    }

    func testAllStrategiesMatchTRLRowForRow() throws {
        let data = try Data(contentsOf: TestSupport.packageRoot.appendingPathComponent("Tests/DatasetsTests/Fixtures/packing.json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: data)
        let examples: [[[Int]]] = fixture.lengths.enumerated().map { i, n in
            [(0..<n).map { i * 1000 + $0 }, (0..<n).map { (i + $0) % 3 }]
        }
        for c in fixture.cases {
            XCTAssertTrue(c.completion_mask_matches)
            let rows = Packer.pack(examples, seqLength: fixture.seq_length, strategy: PackingStrategy(rawValue: c.strategy)!)
            XCTAssertEqual(rows.count, c.input_ids.count, c.strategy)
            for (i, (row, expected)) in zip(rows, c.input_ids).enumerated() where row.columns[0] != expected {
                XCTFail("\(c.strategy) row \(i): got \(row.columns[0].prefix(8)), expected \(expected.prefix(8))")
                break
            }
            XCTAssertEqual(rows.map(\.sequenceLengths), c.seq_lengths ?? Array(repeating: [], count: rows.count), c.strategy)
            for row in rows {
                XCTAssertEqual(row.columns[1], row.columns[0].map { ($0 / 1000 + $0 % 1000) % 3 }, "other columns move with their tokens")
                XCTAssertLessThanOrEqual(row.columns[0].count, fixture.seq_length)
            }
        }
    }

    func testDocstringExampleAndRestartingPositions() {
        let ex: [[[Int]]] = [[[1, 2, 3, 4, 5]], [[6, 7]], [[8, 9, 10]], [[11]]]
        XCTAssertEqual(Packer.pack(ex, seqLength: 4, strategy: .bfd).map(\.columns), [[[1, 2, 3, 4]], [[8, 9, 10, 11]], [[6, 7]]])
        let split = Packer.pack(ex, seqLength: 4, strategy: .bfdSplit)
        XCTAssertEqual(split.map(\.columns), [[[1, 2, 3, 4]], [[8, 9, 10, 5]], [[6, 7, 11]]])
        XCTAssertEqual(split[1].positionIDs, [0, 1, 2, 0])
        XCTAssertEqual(Packer.pack(ex, seqLength: 4, strategy: .wrapped).map(\.columns), [[[1, 2, 3, 4]], [[5, 6, 7, 8]], [[9, 10, 11]]])
    }
}
