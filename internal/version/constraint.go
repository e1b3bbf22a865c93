package version

import (
	"fmt"
	"strings"
)

// Constraint is a version range from release.constraint.
//
// Syntax: one or more alternatives separated by "||"; each alternative is one
// or more comparisons separated by spaces or commas, all of which must hold.
// A comparison is an operator (=, !=, <, <=, >, >=) directly followed by a full
// version. Examples:
//
//	>=v1.20.0 <v3.0.0
//	<v2.0.0 || >=v2.3.0, !=v2.4.1
//
// The empty constraint allows every version.
type Constraint struct {
	text string
	alts [][]comparison
}

type comparison struct {
	op string
	v  V
}

// ParseConstraint reads the syntax above.
func ParseConstraint(s string) (Constraint, error) {
	c := Constraint{text: strings.TrimSpace(s)}
	if c.text == "" {
		return c, nil
	}
	for _, alt := range strings.Split(c.text, "||") {
		fields := strings.FieldsFunc(alt, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
		if len(fields) == 0 {
			return Constraint{}, fmt.Errorf("constraint %q: empty alternative around ||", s)
		}
		var cmps []comparison
		for _, f := range fields {
			op := strings.TrimRight(f[:min(2, len(f))], "v0123456789.")
			if op == "" {
				return Constraint{}, fmt.Errorf("constraint %q: %q needs an operator (=, !=, <, <=, >, >=)", s, f)
			}
			switch op {
			case "=", "!=", "<", "<=", ">", ">=":
			default:
				return Constraint{}, fmt.Errorf("constraint %q: unknown operator %q", s, op)
			}
			v, err := Parse(f[len(op):])
			if err != nil {
				return Constraint{}, fmt.Errorf("constraint %q: %w", s, err)
			}
			cmps = append(cmps, comparison{op, v})
		}
		c.alts = append(c.alts, cmps)
	}
	return c, nil
}

// Allows reports whether v satisfies the constraint.
func (c Constraint) Allows(v V) bool {
	if len(c.alts) == 0 {
		return true
	}
	for _, alt := range c.alts {
		ok := true
		for _, cmp := range alt {
			if !cmp.holds(v) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (c comparison) holds(v V) bool {
	r := v.Compare(c.v)
	switch c.op {
	case "=":
		return r == 0
	case "!=":
		return r != 0
	case "<":
		return r < 0
	case "<=":
		return r <= 0
	case ">":
		return r > 0
	}
	return r >= 0 // ">="
}

// String returns the constraint as written.
func (c Constraint) String() string { return c.text }
