package output

import (
	"bytes"
	"strings"
	"testing"
)

type testList []struct{ A, B string }

func (l testList) Columns() []string { return []string{"name", "record id"} }
func (l testList) Lines() [][]string {
	var out [][]string
	for _, x := range l {
		out = append(out, []string{x.A, x.B})
	}
	return out
}

type badList struct{}

func (badList) Columns() []string { return []string{"a", "b"} }
func (badList) Lines() [][]string { return [][]string{{"only one"}} }

func TestAListPrintsAsATableWithAHeaderAndAsJSONAsItself(t *testing.T) {
	tests := map[string]struct {
		format string
		v      any
		want   string
	}{
		"a table aligns columns and shows empty cells as -": {
			format: FormatTable,
			v:      testList{{"a", "r-1"}, {"longer", ""}},
			want:   "NAME    RECORD ID\na       r-1\nlonger  -\n",
		},
		"an empty table has only its header": {
			format: FormatTable,
			v:      testList{},
			want:   "NAME  RECORD ID\n",
		},
		"JSON is the value itself": {
			format: FormatJSON,
			v:      testList{{"a", "r-1"}},
			want:   "[\n  {\n    \"A\": \"a\",\n    \"B\": \"r-1\"\n  }\n]\n",
		},
		"YAML is the value itself": {
			format: FormatYAML,
			v:      testList{{"a", "N"}},
			want:   "- A: a\n  B: \"N\"\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := New(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := p.Print(&buf, tc.v); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", buf.String(), tc.want)
			}
		})
	}
}

func TestAListWithARaggedLineIsAnError(t *testing.T) {
	p, _ := New(FormatTable)
	err := p.Print(&bytes.Buffer{}, badList{})
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("err = %v, want one naming line 1", err)
	}
}
