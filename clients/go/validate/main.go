// Command validate is a Go consumer of the Ray Jobs API spec: it loads the OpenAPI 3.0 rendition
// (openapi/jobs-3.0.yaml) with kin-openapi and validates live exchanges with a Ray head against it,
// request and response, with openapi3filter.
//
//	go build -o build/go-validate ./clients/go/validate
//	RAY_AUTH_TOKEN=... build/go-validate -address http://127.0.0.1:8265 -spec openapi/jobs-3.0.yaml
//	build/go-validate -load-only -spec openapi/jobs.yaml   # kin-openapi refuses the 3.1 document
//
// The exchanges: version, submit, stop, get (until the job is terminal), list, logs, delete, a 404
// (the deleted job) and a 400 (an unknown field in a submit body, which the spec must reject too).
// Each is printed as one JSON line on stdout. The exit status is 0 when every exchange had the
// expected status and the spec's verdicts were as expected, 1 otherwise, 2 when the document does
// not load or the head cannot be reached.
//
// The job it submits runs `sleep 30`, is stopped at once and deleted at the end; it never leaves
// anything behind on the head when the run succeeds.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Exchange is what one request/response pair yields, printed as a JSON line.
type Exchange struct {
	Name          string `json:"name"`
	Method        string `json:"method"`
	Path          string `json:"path"`
	Status        int    `json:"status"`
	RequestValid  bool   `json:"request_valid"`
	RequestError  string `json:"request_error,omitempty"`
	ResponseValid bool   `json:"response_valid"`
	ResponseError string `json:"response_error,omitempty"`
	OK            bool   `json:"ok"`
}

type consumer struct {
	address string
	token   string
	http    *http.Client
	router  routers.Router
	options *openapi3filter.Options
	failed  bool
}

// loadSpec loads and validates the document the way kin-openapi users do.
func loadSpec(ctx context.Context, path string) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, err
	}
	return doc, nil
}

func (c *consumer) newRequest(ctx context.Context, method, path string, body []byte) *http.Request {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	request, err := http.NewRequestWithContext(ctx, method, c.address+path, reader)
	if err != nil {
		fatal("building %s %s: %v", method, path, err)
	}
	request.Header.Set("User-Agent", "ray-jobs-client-go-validate")
	if c.token != "" {
		request.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		request.Header.Set("Content-Type", "application/json")
	}
	return request
}

// exchange sends one request, validates it and its response against the spec and prints the
// result. wantRequestValid says whether the spec must accept the request (false for the 400).
func (c *consumer) exchange(ctx context.Context, name, method, path string, body []byte,
	wantStatus int, wantRequestValid bool) (*http.Response, []byte) {
	result := Exchange{Name: name, Method: method, Path: path}

	// Validate a twin of the request (validation consumes its body), then send the original.
	twin := c.newRequest(ctx, method, path, body)
	route, pathParams, err := c.router.FindRoute(twin)
	if err != nil {
		fatal("%s %s: no route in the spec: %v", method, path, err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request: twin, PathParams: pathParams, Route: route, Options: c.options,
	}
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		result.RequestError = err.Error()
	} else {
		result.RequestValid = true
	}

	response, err := c.http.Do(c.newRequest(ctx, method, path, body))
	if err != nil {
		fatal("%s %s: %v", method, path, err)
	}
	defer response.Body.Close()
	data, err := io.ReadAll(response.Body)
	if err != nil {
		fatal("%s %s: reading the body: %v", method, path, err)
	}
	result.Status = response.StatusCode

	err = openapi3filter.ValidateResponse(ctx, (&openapi3filter.ResponseValidationInput{
		RequestValidationInput: input,
		Status:                 response.StatusCode,
		Header:                 response.Header,
		Options:                c.options,
	}).SetBodyBytes(data))
	if err != nil {
		result.ResponseError = err.Error()
	} else {
		result.ResponseValid = true
	}

	result.OK = result.Status == wantStatus && result.RequestValid == wantRequestValid && result.ResponseValid
	if !result.OK {
		c.failed = true
	}
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
	return response, data
}

// settleBeforeDelete waits until about 3 s after the job's end_time by the server's clock (its Date
// header): Ray re-creates a record deleted while its job manager is still finishing the job.
func settleBeforeDelete(endTimeMs int64, serverDate string) {
	skew := time.Duration(0)
	if date, err := http.ParseTime(serverDate); err == nil {
		skew = time.Until(date)
	}
	// Date has a resolution of one second: one more second covers it.
	deadline := time.UnixMilli(endTimeMs).Add(4 * time.Second).Add(-skew)
	time.Sleep(time.Until(deadline))
}

func (c *consumer) run(ctx context.Context) {
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		fatal("random id: %v", err)
	}
	id := "go-validate-" + hex.EncodeToString(suffix)
	job := "/api/jobs/" + id

	c.exchange(ctx, "version", "GET", "/api/version", nil, 200, true)
	submit, _ := json.Marshal(map[string]interface{}{
		"entrypoint": "sleep 30", "submission_id": id, "metadata": map[string]string{"client": "go"},
	})
	c.exchange(ctx, "submit", "POST", "/api/jobs/", submit, 200, true)
	c.exchange(ctx, "stop", "POST", job+"/stop", nil, 200, true)

	var details struct {
		Status  string `json:"status"`
		EndTime *int64 `json:"end_time"`
	}
	var date string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		response, data := c.exchange(ctx, "get", "GET", job, nil, 200, true)
		if err := json.Unmarshal(data, &details); err != nil {
			fatal("GET %s: %v", job, err)
		}
		date = response.Header.Get("Date")
		if details.Status == "STOPPED" || details.Status == "SUCCEEDED" || details.Status == "FAILED" {
			break
		}
		if time.Now().After(deadline) {
			fatal("job %s did not stop within 60 s (status %s)", id, details.Status)
		}
	}

	c.exchange(ctx, "list", "GET", "/api/jobs/", nil, 200, true)
	c.exchange(ctx, "logs", "GET", job+"/logs", nil, 200, true)
	if details.EndTime != nil {
		settleBeforeDelete(*details.EndTime, date)
	}
	c.exchange(ctx, "delete", "DELETE", job, nil, 200, true)
	c.exchange(ctx, "not_found", "GET", job, nil, 404, true)
	bogus, _ := json.Marshal(map[string]interface{}{"entrypoint": "echo hi", "bogus": 1})
	c.exchange(ctx, "bad_request", "POST", "/api/jobs/", bogus, 400, false)
}

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-validate: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	specPath := flag.String("spec", "openapi/jobs-3.0.yaml", "the OpenAPI 3.0 document")
	address := flag.String("address", os.Getenv("RAY_ADDRESS"), "the head's dashboard address (default $RAY_ADDRESS)")
	loadOnly := flag.Bool("load-only", false, "only load and validate the document, then exit")
	flag.Parse()

	ctx := context.Background()
	doc, err := loadSpec(ctx, *specPath)
	if err != nil {
		fatal("kin-openapi refuses %s: %v", *specPath, err)
	}
	if *loadOnly {
		fmt.Printf("kin-openapi loads %s (OpenAPI %s)\n", *specPath, doc.OpenAPI)
		return
	}
	if *address == "" {
		fatal("no address: pass -address or set RAY_ADDRESS")
	}

	// Route by path only: the document's server is a placeholder for the head's real address.
	doc.Servers = openapi3.Servers{{URL: strings.TrimRight(*address, "/")}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		fatal("routing %s: %v", *specPath, err)
	}
	c := &consumer{
		address: strings.TrimRight(*address, "/"),
		token:   os.Getenv("RAY_AUTH_TOKEN"),
		http:    &http.Client{Timeout: 60 * time.Second},
		router:  router,
		options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		},
	}
	c.run(ctx)
	if c.failed {
		fmt.Fprintln(os.Stderr, "go-validate: some exchanges broke the spec or answered an unexpected status")
		os.Exit(1)
	}
}
