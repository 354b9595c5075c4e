<?php
require 'db.php';
page_start('Welcome');
echo "<p>Our catalogue:</p><ul>";
$r = db()->query('SELECT id, name, price FROM products ORDER BY id');
while ($row = $r->fetchArray(SQLITE3_ASSOC)) {
    echo "<li><a href=/products.php?id={$row['id']}>" . htmlspecialchars($row['name']) . "</a> {$row['price']}</li>";
}
echo "</ul><p>Downloads: <a href=/files/catalog.pdf>catalogue</a>, <a href=/files/manual.zip>manual</a>, <a href=/files/video.bin>video</a></p>";
page_end();
