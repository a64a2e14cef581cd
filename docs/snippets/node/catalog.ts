// docs/node.md: the catalog in TypeScript. Label names are types: a misspelt label does not
// compile (checked by the snippet test, which type-checks this file strictly).
// docs:start catalog
import { catalog, register } from 'footmetrics';

const sessions = catalog.user_sessions_total();     // Counter<'status' | 'plan' | 'country'>
sessions.inc({ status: 'completed', plan: 'premium', country: 'IL' });
// sessions.inc({ state: 'completed' });           // does not compile: 'state' is not one of its labels
// docs:end catalog

function misspelt() {
	// @ts-expect-error: the test's type check fails if this ever compiles
	sessions.inc({ state: 'completed' });
}
void misspelt;

// An unhandled rejection makes node exit with an error, failing the snippet test.
register.metrics().then((text: string) => {
	if (!/^user_sessions_total\{status="completed",plan="premium",country="IL"\} 1$/m.test(text)) throw new Error(text);
});
