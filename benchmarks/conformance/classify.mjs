// Classify raw cache-tests results with the suite's own rules (test-engine/lib/results.mjs).
//
//   node classify.mjs SUITE RESULTS.json...
//
// Prints JSON: {tests: [{suite, suite_name, id, name, kind, depends_on}], published: [index entries],
// results: {file: {test id: result type}}, alone: {the same, each test judged on its own}},
// the result type being a key of resultTypes (pass, fail, optional_fail, yes, no,
// setup_fail, harness_fail, dependency_fail, retry, untested). "results" follows the
// suite's rules: a test whose prerequisites (depends_on) did not pass is a dependency_fail;
// "alone" ignores depends_on, as the suite's client does when it runs one test.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

const [suitePath, ...files] = process.argv.slice(2)
const base = pathToFileURL(suitePath.endsWith('/') ? suitePath : suitePath + '/')
const { default: suites } = await import(new URL('tests/index.mjs', base))
const { determineTestResult, resultTypes } = await import(new URL('test-engine/lib/results.mjs', base))
const { default: published } = await import(new URL('results/index.mjs', base))
const typeNames = new Map(Object.entries(resultTypes).map(([name, value]) => [value, name]))

const out = { tests: [], published, results: {}, alone: {} }
for (const suite of suites) {
  for (const test of suite.tests) {
    out.tests.push({
      suite: suite.id,
      suite_name: suite.name,
      id: test.id,
      name: test.name,
      kind: test.kind || 'required',
      depends_on: test.depends_on || [],
      browser_only: test.browser_only === true
    })
  }
}
for (const file of files) {
  const raw = JSON.parse(readFileSync(file, 'utf8'))
  const classified = {}
  const alone = {}
  for (const test of out.tests) {
    classified[test.id] = typeNames.get(determineTestResult(suites, test.id, raw))
    alone[test.id] = typeNames.get(determineTestResult(suites, test.id, raw, false))
  }
  out.results[file] = classified
  out.alone[file] = alone
}
console.log(JSON.stringify(out))
