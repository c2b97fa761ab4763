package gateway

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// bodyField matches the expressions body-based routing uses: json(request.body).model, with or
// without string(...), for any dotted field path.
var bodyField = regexp.MustCompile(`^\s*(?:string\(\s*)?json\(\s*request\.body\s*\)\.([A-Za-z_][A-Za-z0-9_.]*)\s*\)?\s*$`)

// CompileHeaderExpression compiles a transformation header value into a form this dataplane
// evaluates. agentgateway evaluates CEL; this dataplane supports the expressions platforms use
// for routing (a field of the JSON request body, json(request.body).model) and string literals.
// Any other expression is an error rather than a header silently left unset. Compile calls it
// for every traffic.transformation value.
func CompileHeaderExpression(name, expr string) (HeaderExpression, error) {
	h := HeaderExpression{Name: name, Expression: expr}
	if m := bodyField.FindStringSubmatch(expr); m != nil {
		h.BodyField = m[1]
		return h, nil
	}
	if s, err := strconv.Unquote(expr); err == nil {
		h.Literal = &s
		return h, nil
	}
	if n := len(expr); n >= 2 && expr[0] == '\'' && expr[n-1] == '\'' {
		s := expr[1 : n-1]
		h.Literal = &s
		return h, nil
	}
	return h, fmt.Errorf("expression %q is not supported by this dataplane (supported: json(request.body).<field>, string literals)", expr)
}

// ParseSampling reads a frontend.tracing sampling expression in its supported literal forms:
// "true" (1), "false" (0) or a decimal in [0, 1]. Other CEL expressions are refused, not guessed.
func ParseSampling(expr string) (float64, error) {
	s := strings.TrimSpace(expr)
	switch s {
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("sampling %q: only the literals true, false or a number in [0, 1] are supported", expr)
	}
	if !(f >= 0 && f <= 1) { // also refuses NaN
		return 0, fmt.Errorf("sampling %q: must be within [0, 1]", expr)
	}
	return f, nil
}

// MCPAuthorizationEnv is the CEL environment of backend.mcp.authorization expressions:
// mcp.tool.name, mcp.tool.target and jwt.<claim>. Compile checks expressions in it and the
// dataplane's MCP handler runs them in it.
var MCPAuthorizationEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("mcp", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("jwt", cel.MapType(cel.StringType, cel.DynType)),
	)
})

// CompileMCPAuthorization checks one authorization expression: it must compile in
// MCPAuthorizationEnv and yield a bool (or dyn, decided per call).
func CompileMCPAuthorization(expr string) (*cel.Ast, error) {
	env, err := MCPAuthorizationEnv()
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	if ast.OutputType() != types.BoolType && ast.OutputType() != types.DynType {
		return nil, fmt.Errorf("yields %s, want bool", ast.OutputType())
	}
	return ast, nil
}
