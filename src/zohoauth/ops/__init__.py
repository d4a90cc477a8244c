"""Operations on the stored connections, as library functions the CLI (and scripts) call:
`admin` lists, resolves, refreshes within Zoho's limits and revokes; `checks` are what
`zohoauth doctor` verifies."""
