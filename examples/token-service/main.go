// A Go backend using zohoauth's token service: get a token, call Zoho CRM with it, then make
// the same call through the proxy. Standard library only.
//
//	ZOHOAUTH_URL=http://127.0.0.1:8000 ZOHOAUTH_SERVICE_KEY=zas_... go run main.go user@example.com
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
)

var base = envOr("ZOHOAUTH_URL", "http://127.0.0.1:8000")

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func get(u string, headers map[string]string, out any) error {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error, Message string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%d %s: %s", resp.StatusCode, e.Error, e.Message)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func main() {
	auth := map[string]string{"Authorization": "Bearer " + os.Getenv("ZOHOAUTH_SERVICE_KEY")}
	var conns struct {
		Data []struct{ ID string `json:"id"` } `json:"data"`
	}
	if err := get(base+"/api/v1/connections?email="+url.QueryEscape(os.Args[1]), auth, &conns); err != nil || len(conns.Data) == 0 {
		fmt.Fprintln(os.Stderr, "no connection:", err)
		os.Exit(1)
	}
	id := conns.Data[0].ID
	var tok struct {
		AccessToken string  `json:"access_token"`
		APIDomain   string  `json:"api_domain"`
		ExpiresAt   float64 `json:"expires_at"`
		OrgID       string  `json:"org_id"`
		DC          string  `json:"dc"`
	}
	if err := get(base+"/api/v1/connections/"+id+"/token?min_valid=300", auth, &tok); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var leads, proxied struct{ Data []map[string]any `json:"data"` }
	crm := map[string]string{"Authorization": "Zoho-oauthtoken " + tok.AccessToken, "X-CRM-ORG": tok.OrgID}
	if err := get(tok.APIDomain+"/crm/v8/Leads?fields=Last_Name&per_page=5", crm, &leads); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := get(base+"/api/v1/proxy/"+id+"/crm/v8/Leads?fields=Last_Name&per_page=5", auth, &proxied); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]any{"connection": id, "dc": tok.DC, "direct": len(leads.Data), "proxied": len(proxied.Data)})
	fmt.Println(string(out))
}
