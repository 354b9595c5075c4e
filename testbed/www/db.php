<?php
// Shared by every page: the SQLite database made by services.sh (products, users, comments).
function db() {
    static $db = null;
    if ($db === null) {
        $db = new SQLite3(getenv('TB_DB') ?: __DIR__ . '/../shop.db');
        $db->busyTimeout(2000);
        $db->enableExceptions(false);
    }
    return $db;
}
function page_start($title) {
    echo "<!doctype html><html><head><title>" . htmlspecialchars($title) . " - Testbed Shop</title>";
    echo "<link rel=stylesheet href=/style.css></head><body><nav><a href=/>Home</a> <a href=/products.php?id=1>Products</a> ";
    echo "<a href=/search.php?q=lamp>Search</a> <a href=/guestbook.php>Guestbook</a> <a href=/login.php>Login</a> <a href=/about.html>About</a></nav>";
    echo "<h1>" . htmlspecialchars($title) . "</h1>";
}
function page_end() { echo "<footer>Testbed Shop - a deliberately vulnerable app for ml-ids</footer></body></html>"; }
